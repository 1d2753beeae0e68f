// Cache-Control by path: `cache_control` rules compiled once, first match wins.
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace modelhost::http {

class CacheControl {
public:
    explicit CacheControl(std::vector<config::CacheControlRule> rules) : rules_(std::move(rules)) {}

    // The value for a decoded path ("/face/model.json"); empty when no rule matches.
    std::string_view value_for(std::string_view path) const;

private:
    std::vector<config::CacheControlRule> rules_;
};

}  // namespace modelhost::http
