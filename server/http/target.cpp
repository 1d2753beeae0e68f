// RFC 9112 §3.2 request-targets parsed with Boost.URL; every segment decoded exactly once and checked.
#include "http/target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace modelhost::http {

namespace urls = boost::urls;

namespace {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        unsigned long cp = n == 1 ? c : c & (0x7fu >> n);
        for (std::size_t k = 1; k < n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc >> 6) != 0x2) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        static constexpr unsigned long min_for[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

Target refuse(Target::Verdict v, const char* reason) {
    Target t;
    t.verdict = v;
    t.reason = reason;
    return t;
}

// Checks one decoded segment; returns nullptr when it is acceptable.
const char* segment_problem(std::string_view seg, Target::Verdict& verdict) {
    verdict = Target::Verdict::bad_request;
    if (seg == "." || seg == "..") return "dot segment";
    for (char ch : seg) {
        auto c = static_cast<unsigned char>(ch);
        if (ch == '/' || ch == '\\') return "encoded slash or backslash";
        if (c < 0x20 || c == 0x7f) return "control character or NUL";
    }
    if (!valid_utf8(seg)) return "invalid UTF-8";
    if (seg.front() == '.') {
        verdict = Target::Verdict::not_found;
        return "hidden file or folder";
    }
    return nullptr;
}

}  // namespace

Target parse_target(std::string_view raw) {
    if (raw.size() > max_target_length) return refuse(Target::Verdict::too_long, "target too long");
    if (raw == "*") return refuse(Target::Verdict::asterisk, "");

    urls::string_view encoded_path;
    if (raw.starts_with('/')) {
        auto u = urls::parse_origin_form(raw);
        if (!u) return refuse(Target::Verdict::bad_request, "malformed target");
        encoded_path = u->encoded_path();
    } else {
        auto u = urls::parse_absolute_uri(raw);
        if (!u || (u->scheme_id() != urls::scheme::http && u->scheme_id() != urls::scheme::https) ||
            !u->has_authority())
            return refuse(Target::Verdict::bad_request, "malformed target");
        encoded_path = u->encoded_path();
    }

    Target t;
    t.verdict = Target::Verdict::ok;
    std::string_view rest(encoded_path.data(), encoded_path.size());
    while (!rest.empty()) {
        rest.remove_prefix(1);  // the '/' that starts every segment
        std::string_view enc = rest.substr(0, rest.find('/'));
        rest.remove_prefix(enc.size());
        if (enc.empty()) continue;  // "//" collapses
        auto pct = urls::make_pct_string_view(enc);
        if (!pct) return refuse(Target::Verdict::bad_request, "bad percent-encoding");
        std::string seg = pct->decode();
        Target::Verdict verdict;
        if (const char* why = segment_problem(seg, verdict)) return refuse(verdict, why);
        t.path += '/';
        t.path += seg;
        t.segments.push_back(std::move(seg));
    }
    if (t.path.empty() || encoded_path.ends_with('/')) t.path += '/';
    return t;
}

}  // namespace modelhost::http
