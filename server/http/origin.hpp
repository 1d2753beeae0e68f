// Origins (RFC 6454 serialisation) and the allow_origins entries they are matched against.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace modelhost::http {

// A request's Origin header, normalised: lower-case scheme and host, default port made explicit.
struct Origin {
    std::string scheme;
    std::string host;  // "example.com", "127.0.0.1", "[::1]"
    std::uint16_t port = 0;
    bool opaque = false;  // the literal "null"
};

// Parses an Origin header value; nullopt for anything malformed (paths, userinfo, bad ports, odd characters).
std::optional<Origin> parse_origin(std::string_view value);

// One compiled `allow_origins` entry.
struct OriginRule {
    enum class Kind { any, null, exact, host_pattern, any_port };
    Kind kind = Kind::exact;
    Origin origin;            // scheme, host and port to compare (host holds the pattern's fixed part)
    std::string label_prefix;  // host_pattern: the leftmost label is label_prefix + '*' + label_suffix
    std::string label_suffix;
    bool whole_label = false;  // the leftmost label is exactly "*": any subdomain, at any depth
};

// Compiles "*", "null", "https://a.com", "https://*.a.com", "http://localhost:*"; a string says what is wrong.
std::variant<OriginRule, std::string> compile_origin_rule(std::string_view entry);

bool matches(const OriginRule& rule, const Origin& origin);

}  // namespace modelhost::http
