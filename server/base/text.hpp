// Small string helpers for header values and config lists: the floor every layer may include (it includes nothing
// of the project). In namespace modelhost, so code in modelhost::http, ::config and ::tools calls them unqualified.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace modelhost {

// Strips optional whitespace (SP / HTAB, RFC 9110 §5.6.3) from both ends.
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// ASCII case folding: header names, tokens and file extensions are ASCII (no locale, no library call).
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = ascii_lower(c);
    return out;
}

// Case-insensitive equality against a lower-case literal.
inline bool equals_lower(std::string_view s, std::string_view lower_literal) {
    if (s.size() != lower_literal.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (ascii_lower(s[i]) != lower_literal[i]) return false;
    return true;
}

// Calls `f(item)` for each element of a comma-separated list (RFC 9110 §5.6.1), trimmed of OWS; empty elements are
// skipped. `f` returns false to stop early. Returns false when stopped.
template <class F>
bool for_each_list_item(std::string_view list, F&& f) {
    while (!list.empty()) {
        auto comma = list.find(',');
        std::string_view item = trim_ows(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (!item.empty() && !f(item)) return false;
    }
    return true;
}

// The items joined with `separator` ("a, b, c").
template <class Items>
std::string join(const Items& items, std::string_view separator = ", ") {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

// Hashes std::string keys and looks them up by std::string_view without building a string (C++20 heterogeneous
// lookup: use with std::equal_to<>).
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace modelhost
