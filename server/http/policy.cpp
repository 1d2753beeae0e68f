// Route table compilation: each route's CORS policy and header lines, built once at load.
#include "http/policy.hpp"

#include "base/text.hpp"
#include "base/glob.hpp"
#include "version.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>

namespace modelhost::http {

RoutePolicy::RoutePolicy(CorsPolicy c, const config::HeaderList& headers) : cors(std::move(c)) {
    // The last of several spellings of one name wins, as repeated field sets would.
    config::HeaderList unique;
    for (const auto& h : headers) {
        std::erase_if(unique, [&](const auto& u) { return boost::beast::iequals(u.first, h.first); });
        unique.push_back(h);
    }
    for (const auto& h : unique) configured.push_back(to_lower(h.first));
    owns_date = configures("date");
    if (!configures("server")) append_header_line(fixed_lines, "Server", server_token);
    if (!configures("x-content-type-options")) append_header_line(fixed_lines, "X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : unique) append_header_line(fixed_lines, name, value);
}

bool RoutePolicy::configures(std::string_view lower_name) const {
    return std::find(configured.begin(), configured.end(), lower_name) != configured.end();
}

Policy::Policy(const config::Config& cfg)
    : cache_control(cfg.cache_control),
      compression(cfg.compression),
      huggingface(cfg.huggingface),
      etag(cfg.server.etag),
      endpoints(cfg),
      top{CorsPolicy(cfg.cors), cfg.headers} {
    for (const auto& r : cfg.routes) {
        routes.emplace_back(r.path, RoutePolicy{r.cors ? CorsPolicy(*r.cors) : top.cors, r.headers ? *r.headers : cfg.headers});
        routes.back().second.index = routes.size();
    }
}

const RoutePolicy& Policy::route_for(std::string_view path) const {
    if (path.empty()) return top;
    for (const auto& [glob, policy] : routes)
        if (glob_match(glob, path)) return policy;
    return top;
}

}  // namespace modelhost::http
