// Cache-Control by path: `cache_control` rules compiled once, first match wins.
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace modelhost::http {

// The fixed values of the server's own responses (files follow the `cache_control` rules instead).
inline constexpr std::string_view never_store = "no-store";         // health answers, 503s before the catalog
inline constexpr std::string_view always_revalidate = "no-cache";  // the catalog: changes with the tree

class CacheControl {
public:
    explicit CacheControl(std::vector<config::CacheControlRule> rules) : rules_(std::move(rules)) {}

    // The value for a decoded path ("/face/model.json"); empty when no rule matches.
    std::string_view value_for(std::string_view path) const;

private:
    std::vector<config::CacheControlRule> rules_;
};

}  // namespace modelhost::http
