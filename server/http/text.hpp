// Small string helpers for header values, shared by the header modules.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace modelhost::http {

// Strips optional whitespace (SP / HTAB, RFC 9110 §5.6.3) from both ends.
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Case-insensitive equality against a lower-case literal.
inline bool equals_lower(std::string_view s, std::string_view lower_literal) {
    if (s.size() != lower_literal.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != lower_literal[i]) return false;
    return true;
}

}  // namespace modelhost::http
