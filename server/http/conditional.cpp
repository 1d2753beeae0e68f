// Entity-tag lists, HTTP dates and the precedence of preconditions.
#include "http/conditional.hpp"

#include "base/http_date.hpp"

#include "base/text.hpp"

#include <array>
#include <cstring>

namespace modelhost::http {

namespace bhttp = boost::beast::http;

namespace {

// RFC 9110 §8.8.3.2: strong comparison needs both tags strong; weak comparison ignores W/.
bool etag_list_matches(std::string_view list, std::string_view current, bool weak) {
    list = trim_ows(list);
    if (list == "*") return true;
    while (!list.empty()) {
        list = trim_ows(list);
        bool is_weak = list.starts_with("W/");
        if (is_weak) list.remove_prefix(2);
        if (!list.starts_with('"')) return false;  // malformed: nothing further can be trusted
        auto close = list.find('"', 1);
        if (close == std::string_view::npos) return false;
        std::string_view tag = list.substr(0, close + 1);
        if ((weak || !is_weak) && tag == current) return true;
        list.remove_prefix(close + 1);
        list = trim_ows(list);
        if (!list.empty() && list.front() != ',') return false;
        if (!list.empty()) list.remove_prefix(1);
    }
    return false;
}

std::string_view header(const bhttp::fields& f, bhttp::field name) {
    auto v = f[name];
    return {v.data(), v.size()};
}


}  // namespace

Precondition evaluate_preconditions(const bhttp::fields& req, bhttp::verb method, const Validators& v, std::time_t now) {
    bool get_or_head = method == bhttp::verb::get || method == bhttp::verb::head;
    bool has_if_match = req.find(bhttp::field::if_match) != req.end();
    // 1. If-Match (strong), else 2. If-Unmodified-Since
    if (has_if_match) {
        if (!etag_list_matches(header(req, bhttp::field::if_match), v.etag, false)) return Precondition::failed;
    } else if (req.find(bhttp::field::if_unmodified_since) != req.end()) {
        auto date = parse_http_date(header(req, bhttp::field::if_unmodified_since));
        if (date && v.last_modified && *v.last_modified > *date) return Precondition::failed;
    }
    // 3. If-None-Match (weak), else 4. If-Modified-Since (GET/HEAD only; future dates are invalid)
    if (req.find(bhttp::field::if_none_match) != req.end()) {
        if (etag_list_matches(header(req, bhttp::field::if_none_match), v.etag, true))
            return get_or_head ? Precondition::not_modified : Precondition::failed;
    } else if (get_or_head && req.find(bhttp::field::if_modified_since) != req.end()) {
        auto date = parse_http_date(header(req, bhttp::field::if_modified_since));
        if (date && v.last_modified && *date <= now && *v.last_modified <= *date) return Precondition::not_modified;
    }
    return Precondition::proceed;
}

bool if_range_allows(std::string_view if_range, const Validators& v) {
    if_range = trim_ows(if_range);
    if (if_range.starts_with("W/")) return false;  // a weak tag never allows a range
    if (if_range.starts_with('"')) return !v.etag.empty() && if_range == v.etag;
    auto date = parse_http_date(if_range);
    return date && v.last_modified && *date == *v.last_modified;
}

}  // namespace modelhost::http
