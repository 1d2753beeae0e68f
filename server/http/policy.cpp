// Route table compilation: a route's cors/headers replace the top-level ones, they never merge.
#include "http/policy.hpp"

#include "http/glob.hpp"
#include "version.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>

namespace modelhost::http {

namespace {

// Header names some step of the pipeline sets on some response; a configured one must replace it per response.
constexpr std::array<std::string_view, 9> pipeline_headers = {"date", "content-type", "etag", "last-modified",
                                                              "cache-control", "accept-ranges", "content-encoding",
                                                              "content-range", "allow"};

bool named(std::string_view name, std::string_view lower) { return boost::beast::iequals(name, lower); }

}  // namespace

RoutePolicy::RoutePolicy(CorsPolicy c, const config::HeaderList& configured) : cors(std::move(c)) {
    // The last of several spellings of one name wins, as repeated field sets would.
    config::HeaderList unique;
    for (const auto& h : configured) {
        std::erase_if(unique, [&](const auto& u) { return boost::beast::iequals(u.first, h.first); });
        unique.push_back(h);
    }
    auto configures = [&](std::string_view lower) {
        return std::any_of(unique.begin(), unique.end(), [&](const auto& h) { return named(h.first, lower); });
    };
    if (!configures("server")) append_header_line(fixed_lines, "Server", server_token);
    if (!configures("x-content-type-options")) append_header_line(fixed_lines, "X-Content-Type-Options", "nosniff");
    for (const auto& header : unique) {
        bool late = std::any_of(pipeline_headers.begin(), pipeline_headers.end(),
                                [&](std::string_view p) { return named(header.first, p); });
        if (late) late_headers.push_back(header);
        else append_header_line(fixed_lines, header.first, header.second);
    }
}

Policy::Policy(const config::Config& cfg)
    : files(cfg.server.root, cfg.server.sendfile_min_bytes),
      cache_control(cfg.cache_control),
      compression(cfg.compression),
      gzip(std::make_unique<GzipCache>(cfg.compression.gzip_max_bytes, cfg.compression.gzip_cache_bytes)),
      heads(std::make_unique<HeadCache>()),
      catalog(std::make_unique<models::CatalogService>(cfg.server.root)),
      healthz(cfg.health.prefix + "/healthz"),
      readyz(cfg.health.prefix + "/readyz"),
      top{CorsPolicy(cfg.cors), cfg.headers} {
    for (const auto& r : cfg.routes)
        routes.emplace_back(r.path, RoutePolicy{r.cors ? CorsPolicy(*r.cors) : top.cors, r.headers ? *r.headers : cfg.headers});
}

const RoutePolicy& Policy::route_for(std::string_view path) const {
    if (path.empty()) return top;
    for (const auto& [glob, policy] : routes)
        if (glob_match(glob, path)) return policy;
    return top;
}

}  // namespace modelhost::http
