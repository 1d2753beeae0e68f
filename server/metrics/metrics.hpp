// Counters for `<health.prefix>/metrics` (Prometheus text exposition 0.0.4). Each thread counts into its own shard of
// relaxed atomics (no lock, no shared cache line per request); a scrape sums the shards. Label values are bounded:
// method (GET, HEAD, OPTIONS, other), status class, and the route as configured, never the request's path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace modelhost::metrics {

inline constexpr std::size_t max_routes = 64;  // routes beyond this share the last label

// Events counted where they happen.
enum class Event : std::size_t {
    connection_refused,  // over limits.max_connections: 503 or dropped
    preflight,           // CORS preflights answered (allowed or not)
    cors_refused_origin,
    cors_refused_method,
    cors_refused_header,
    reload_ok,
    reload_failed,
    file_remembered,  // a file lookup answered from memory, no system call (checked earlier in the event-loop pass)
    file_checked,     // ... from memory after one stat of the path
    file_opened,      // ... looked up afresh (not remembered, or changed)
    head_hit,         // a representation's header block reused
    head_miss,        // ... built
    gzip_hit,         // an on-the-fly gzip result reused
    gzip_miss,        // ... compressed now (or identity sent because another compression of it runs)
    catalog_first_scan,    // a new catalog's scan of the root, every file hashed (start, a changed server.root)
    catalog_refresh_scan,  // a later scan of the same catalog, only changed files hashed
    count_
};

void count(Event e);

// One finished response: `method` 0 GET, 1 HEAD, 2 OPTIONS, 3 other; `route` 0 the top level, i + 1 routes[i].
void count_response(unsigned method, unsigned status, std::size_t route, std::uint64_t bytes, double seconds);

// Values read at scrape time.
void set_active_connections(std::int64_t delta);  // +1 when a connection is registered, -1 when it ends
void set_generation(std::uint64_t generation);    // configuration generation (1 at start, +1 per reload)

struct ScrapeFacts {
    std::vector<std::string> route_labels;  // [0] "top level", then each route's path as configured
    // format ("tfjs", "onnx", ...) -> models (ok, broken): one series per format and state, 0 included.
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> models;
    std::string version;
};

// The whole exposition, process metrics (RSS, open descriptors, CPU seconds) included.
std::string exposition(const ScrapeFacts& facts);

}  // namespace modelhost::metrics
