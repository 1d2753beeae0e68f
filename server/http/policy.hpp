// The rules the pipeline follows, compiled once from the validated config and never changed afterwards (a reload
// compiles a new Policy). The state they work on (files, caches, the catalog) is apart, in resources.hpp.
#pragma once

#include "config/config.hpp"
#include "http/cache_control.hpp"
#include "http/cors.hpp"
#include "http/endpoints.hpp"

#include <string>
#include <vector>

namespace modelhost::http {

// The headers and CORS policy that apply to one path (a route, or the top level).
struct RoutePolicy {
    RoutePolicy(CorsPolicy c, const config::HeaderList& configured);

    CorsPolicy cors;
    // Server, X-Content-Type-Options and every configured header, serialised once ("Name: value\r\n" each).
    // A configured header owns its name on this route: the pipeline never sends one of the same name (the
    // representation head is built without it, finalise drops such a field), so each is sent exactly once.
    std::string fixed_lines;

    // True when the route configures the header `lower_name` (lower case).
    bool configures(std::string_view lower_name) const;
    // Lower-case names of the configured headers.
    std::vector<std::string> configured;
    bool owns_date = false;  // a configured Date replaces the server's (decided at load, read per response)
    std::size_t index = 0;   // 0 the top level, i + 1 routes[i] (the metrics' route label)
};

struct Policy {
    explicit Policy(const config::Config& cfg);

    // First matching route wins; paths that match none (or could not be parsed) get the top-level policy.
    const RoutePolicy& route_for(std::string_view path) const;

    CacheControl cache_control;
    config::CompressionConfig compression;
    config::HuggingFaceConfig huggingface;
    config::ServerConfig::Etag etag;  // how ETags are made (size + mtime, or the content's hash)
    Endpoints endpoints;              // health, metrics, the status page, /v1/models
    RoutePolicy top;
    std::vector<std::pair<std::string, RoutePolicy>> routes;  // glob -> policy
};

}  // namespace modelhost::http
