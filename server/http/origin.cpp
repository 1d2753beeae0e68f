// Strict origin parsing: only what browsers send (scheme://host[:port]) is accepted, so matching stays exact.
#include "http/origin.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace modelhost::http {

namespace {

std::uint16_t default_port(std::string_view scheme) {
    if (scheme == "http" || scheme == "ws") return 80;
    if (scheme == "https" || scheme == "wss") return 443;
    return 0;
}

bool valid_scheme(std::string_view s) {
    if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
}

// DNS names and IPv4 (letters, digits, '-', '.'; no empty labels) or a bracketed IPv6 literal.
bool valid_host(std::string_view h, bool allow_star) {
    if (h.empty()) return false;
    if (h.front() == '[') {
        return h.size() > 2 && h.back() == ']' &&
               std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
               });
    }
    if (h.front() == '.' || h.back() == '.' || h.find("..") != std::string_view::npos) return false;
    return std::all_of(h.begin(), h.end(), [allow_star](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || (allow_star && c == '*');
    });
}

// Splits "scheme://host[:port]"; `port_text` is empty when absent. False when the shape is wrong.
bool split(std::string_view v, std::string_view& scheme, std::string_view& host, std::string_view& port_text,
           bool& has_port) {
    auto sep = v.find("://");
    if (sep == std::string_view::npos) return false;
    scheme = v.substr(0, sep);
    std::string_view authority = v.substr(sep + 3);
    if (authority.empty() || authority.find_first_of("/?#@\\") != std::string_view::npos) return false;
    std::size_t colon = authority.front() == '[' ? authority.find(':', authority.find(']'))
                                                 : authority.find(':');
    has_port = colon != std::string_view::npos;
    host = authority.substr(0, colon);
    port_text = has_port ? authority.substr(colon + 1) : std::string_view{};
    return true;
}

std::optional<std::uint16_t> parse_port(std::string_view t) {
    unsigned value = 0;
    if (t.empty() || t.size() > 5) return std::nullopt;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc{} || end != t.data() + t.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<Origin> parse_origin(std::string_view value) {
    if (value == "null") return Origin{"", "", 0, true};
    std::string_view scheme, host, port_text;
    bool has_port = false;
    if (!split(value, scheme, host, port_text, has_port) || !valid_scheme(scheme) || !valid_host(host, false))
        return std::nullopt;
    Origin o{to_lower(scheme), to_lower(host), 0, false};
    if (has_port) {
        auto p = parse_port(port_text);
        if (!p) return std::nullopt;
        o.port = *p;
    } else {
        o.port = default_port(o.scheme);
    }
    return o;
}

std::variant<OriginRule, std::string> compile_origin_rule(std::string_view entry) {
    OriginRule rule;
    if (entry == "*") return OriginRule{OriginRule::Kind::any, {}, {}, {}, false};
    if (entry == "null") return OriginRule{OriginRule::Kind::null, {"", "", 0, true}, {}, {}, false};
    std::string_view scheme, host, port_text;
    bool has_port = false;
    if (!split(entry, scheme, host, port_text, has_port))
        return std::string("is not an origin: expected scheme://host[:port] with no path (e.g. \"https://app.example.com\")");
    if (std::count(entry.begin(), entry.end(), '*') > 1) return std::string("has more than one wildcard");
    if (!valid_scheme(scheme)) return std::string("has an invalid scheme");
    if (!valid_host(host, true)) return std::string("has an invalid host");
    rule.origin = Origin{to_lower(scheme), to_lower(host), 0, false};

    if (has_port && port_text == "*") {
        rule.kind = OriginRule::Kind::any_port;
    } else if (has_port) {
        auto p = parse_port(port_text);
        if (!p) return std::string("has an invalid port (use 1-65535 or *)");
        rule.origin.port = *p;
    } else {
        rule.origin.port = default_port(rule.origin.scheme);
    }

    auto star = rule.origin.host.find('*');
    if (star != std::string::npos) {
        auto dot = rule.origin.host.find('.');
        if (dot == std::string::npos || star > dot)
            return std::string("may have a wildcard only in the leftmost label of a host with at least two labels");
        rule.kind = OriginRule::Kind::host_pattern;
        std::string label = rule.origin.host.substr(0, dot);
        rule.whole_label = label == "*";
        rule.label_prefix = label.substr(0, star);
        rule.label_suffix = label.substr(star + 1);
        rule.origin.host = rule.origin.host.substr(dot);  // ".example.com"
    }
    return rule;
}

bool matches(const OriginRule& rule, const Origin& o) {
    switch (rule.kind) {
        case OriginRule::Kind::any: return true;
        case OriginRule::Kind::null: return o.opaque;
        case OriginRule::Kind::exact:
            return !o.opaque && o.scheme == rule.origin.scheme && o.host == rule.origin.host && o.port == rule.origin.port;
        case OriginRule::Kind::any_port: return !o.opaque && o.scheme == rule.origin.scheme && o.host == rule.origin.host;
        case OriginRule::Kind::host_pattern: break;
    }
    if (o.opaque || o.scheme != rule.origin.scheme || o.port != rule.origin.port) return false;
    const std::string& suffix = rule.origin.host;  // ".example.com"
    if (o.host.size() <= suffix.size() || !o.host.ends_with(suffix)) return false;
    std::string_view sub(o.host.data(), o.host.size() - suffix.size());
    if (rule.whole_label) return !sub.starts_with('.');  // any subdomain, one or more labels
    if (sub.find('.') != std::string_view::npos) return false;
    return sub.size() > rule.label_prefix.size() + rule.label_suffix.size() && sub.starts_with(rule.label_prefix) &&
           sub.ends_with(rule.label_suffix);
}

}  // namespace modelhost::http
