// RFC 9112 §3.2 request-targets parsed with Boost.URL; every segment decoded exactly once and checked.
#include "http/target.hpp"

#include <boost/url/decode_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <array>

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

void refuse(Target& t, Target::Verdict v, const char* reason) {
    t.verdict = v;
    t.reason = reason;
    t.path.clear();
}

// True when every byte of `raw` may appear in an absolute-path (RFC 3986 §3.3: "/" and pchar) without being a
// percent-escape: such an origin-form target is its own encoded path, with nothing to decode. Most requests are like
// this ("/face/model.json"); anything else ('%', '?', other bytes, absolute-form) goes through Boost.URL.
bool plain_absolute_path(std::string_view raw) {
    static constexpr auto allowed = [] {
        std::array<bool, 256> a{};
        for (unsigned char c : std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                "-._~!$&'()*+,;=:@/"))
            a[c] = true;
        return a;
    }();
    if (!raw.starts_with('/')) return false;
    for (char c : raw)
        if (!allowed[static_cast<unsigned char>(c)]) return false;
    return true;
}

// The path part of an origin-form or absolute-form target; false when malformed.
bool encoded_path_of(std::string_view raw, urls::string_view& path) {
    if (plain_absolute_path(raw)) {
        path = urls::string_view(raw.data(), raw.size());
        return true;
    }
    if (raw.starts_with('/')) {
        auto u = urls::parse_origin_form(raw);
        if (u) path = u->encoded_path();
        return bool(u);
    }
    auto u = urls::parse_absolute_uri(raw);
    if (!u || (u->scheme_id() != urls::scheme::http && u->scheme_id() != urls::scheme::https) || !u->has_authority())
        return false;
    path = u->encoded_path();
    return true;
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

void parse_target(std::string_view raw, Target& t) {
    t.reason = "";
    if (raw.size() > max_target_length) return refuse(t, Target::Verdict::too_long, "target too long");
    if (raw == "*") return refuse(t, Target::Verdict::asterisk, "");
    urls::string_view encoded_path;
    if (!encoded_path_of(raw, encoded_path)) return refuse(t, Target::Verdict::bad_request, "malformed target");

    t.verdict = Target::Verdict::ok;
    t.path.clear();
    std::string_view rest(encoded_path.data(), encoded_path.size());
    while (!rest.empty()) {
        rest.remove_prefix(1);  // the '/' that starts every segment
        std::string_view enc = rest.substr(0, rest.find('/'));
        rest.remove_prefix(enc.size());
        if (enc.empty()) continue;  // "//" collapses
        t.path += '/';
        const std::size_t start = t.path.size();
        if (enc.find('%') == std::string_view::npos) {
            t.path += enc;  // nothing escaped: the segment is its own decoding
        } else {
            auto pct = urls::make_pct_string_view(enc);
            if (!pct) return refuse(t, Target::Verdict::bad_request, "bad percent-encoding");
            for (char c : **pct) t.path += c;  // decoded once, in place
        }
        Target::Verdict verdict;
        if (const char* why = segment_problem(std::string_view(t.path).substr(start), verdict)) return refuse(t, verdict, why);
    }
    if (t.path.empty() || encoded_path.ends_with('/')) t.path += '/';
}

Target parse_target(std::string_view raw) {
    Target t;
    parse_target(raw, t);
    return t;
}

std::vector<std::string_view> Target::segments() const {
    std::vector<std::string_view> out;
    std::string_view rest(path);
    while (!rest.empty()) {
        rest.remove_prefix(1);
        std::string_view seg = rest.substr(0, rest.find('/'));
        if (!seg.empty()) out.push_back(seg);
        rest.remove_prefix(seg.size());
    }
    return out;
}

std::string_view Target::last_segment() const {
    std::string_view p(path);
    return p.substr(p.rfind('/') + 1);
}

}  // namespace modelhost::http
