// Where the server's own endpoints live, named once: the server answers them and the tools (health, reload) probe
// them, so the two can never disagree about a path.
#pragma once

#include <string>
#include <string_view>

namespace modelhost::http {

// GET /v1/models, the catalog as JSON (outside the health prefix: a public API path).
inline constexpr std::string_view models_path = "/v1/models";

// The endpoints under `health.prefix` ("/.modelhost" by default, "" puts them at the root).
struct EndpointPaths {
    std::string healthz, readyz, metrics, status;
};

inline EndpointPaths endpoint_paths(std::string_view health_prefix) {
    const std::string p(health_prefix);
    return {p + "/healthz", p + "/readyz", p + "/metrics", p + "/"};
}

}  // namespace modelhost::http
