// "bytes=a-b", "a-", "-n", comma lists; any syntax error makes the whole header ignored (RFC 9110 §14.2).
#include "http/range.hpp"

#include "base/text.hpp"

#include <charconv>

namespace modelhost::http {

namespace {

bool parse_number(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

bool iequals_bytes(std::string_view unit) {
    if (unit.size() != 5) return false;
    for (std::size_t i = 0; i < 5; ++i)
        if ((unit[i] | 0x20) != "bytes"[i]) return false;
    return true;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
    RangeRequest none;
    auto eq = header.find('=');
    if (eq == std::string_view::npos || !iequals_bytes(trim_ows(header.substr(0, eq)))) return none;
    std::string_view set = header.substr(eq + 1);
    RangeRequest result;
    std::size_t satisfiable = 0, specs = 0;
    // One range-spec: counts it, and the first satisfiable one becomes the result. False: the header is invalid.
    auto spec_ok = [&](std::string_view spec) {
        ++specs;
        auto dash = spec.find('-');
        if (dash == std::string_view::npos) return false;
        std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
        std::uint64_t first = 0, last = 0;
        if (a.empty()) {  // suffix: the last n bytes
            if (!parse_number(b, last)) return false;
            if (last == 0 || size == 0) return true;
            first = last >= size ? 0 : size - last;
            last = size - 1;
        } else {
            if (!parse_number(a, first) || (!b.empty() && !parse_number(b, last))) return false;
            if (!b.empty() && last < first) return false;  // invalid range-spec: ignore the header
            if (first >= size) return true;
            last = b.empty() || last >= size ? size - 1 : last;
        }
        if (++satisfiable == 1) {
            result.first = first;
            result.length = last - first + 1;
        }
        return true;
    };
    if (!for_each_list_item(set, spec_ok)) return none;  // empty list elements are allowed (RFC 9110 §5.6.1)
    if (specs == 0) return none;
    if (satisfiable == 0) return RangeRequest{RangeRequest::Kind::unsatisfiable, 0, 0};
    result.kind = satisfiable == 1 ? RangeRequest::Kind::single : RangeRequest::Kind::several;
    return result;
}

}  // namespace modelhost::http
