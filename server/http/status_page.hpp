// The page a developer sees at "/" (and <health.prefix>/) when the root has no index.html: every model the catalog
// lists, its URL and a loader snippet to copy, and the CORS policy in force. Self-contained (inline styles only, no
// script; sent with its own Content-Security-Policy); every name from the file system is escaped. Beyond
// models::CatalogSummary::max_rows models the page lists the first ones and points at /v1/models for the rest.
#pragma once

#include "models/summary.hpp"

#include <string>
#include <vector>

namespace modelhost::http {

struct StatusFacts {
    std::string base_url;                   // "http://host:port", from the request's Host (already validated)
    std::vector<std::string> allow_origins;  // the top level's, as configured
    bool credentials = false;
    std::size_t routes = 0;
    std::string version;
};

// `catalog` is the catalog service's last summary (null before the first scan).
std::string status_page(const models::CatalogSummary* catalog, const StatusFacts& facts);

// Text made safe for HTML element content and quoted attribute values.
std::string html_escape(std::string_view text);

inline constexpr const char* status_page_csp =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace modelhost::http
