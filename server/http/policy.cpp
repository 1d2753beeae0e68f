// Route table compilation: a route's cors/headers replace the top-level ones, they never merge.
#include "http/policy.hpp"

#include "http/glob.hpp"

namespace modelhost::http {

Policy::Policy(const config::Config& cfg)
    : files(cfg.server.root, cfg.server.sendfile_min_bytes),
      cache_control(cfg.cache_control),
      compression(cfg.compression),
      gzip(std::make_unique<GzipCache>(cfg.compression.gzip_max_bytes, cfg.compression.gzip_cache_bytes)),
      catalog(std::make_unique<models::CatalogService>(cfg.server.root)),
      healthz(cfg.health.prefix + "/healthz"),
      readyz(cfg.health.prefix + "/readyz"),
      top{CorsPolicy(cfg.cors), cfg.headers} {
    for (const auto& r : cfg.routes)
        routes.emplace_back(r.path, RoutePolicy{r.cors ? CorsPolicy(*r.cors) : top.cors, r.headers ? *r.headers : top.headers});
}

const RoutePolicy& Policy::route_for(std::string_view path) const {
    if (path.empty()) return top;
    for (const auto& [glob, policy] : routes)
        if (glob_match(glob, path)) return policy;
    return top;
}

}  // namespace modelhost::http
