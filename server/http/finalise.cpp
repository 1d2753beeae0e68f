// Common headers for every response, errors and preflights included.
#include "http/finalise.hpp"

#include "base/http_date.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

namespace modelhost::http {

namespace {

// RFC 9110 §6.4.1: these statuses never carry content.
bool never_has_body(bhttp::status s) {
    auto code = static_cast<unsigned>(s);
    return code < 200 || code == 204 || code == 304;
}

}  // namespace

void finalise(Reply& res, const Request& req, const RoutePolicy& route, const CorsDecision& cors, bool keep_alive) {
    res.route_lines = route.fixed_lines;  // Server, nosniff and configured headers, serialised at load
    // A configured header owns its name: the pipeline's field of that name (Content-Type of an error, ...) goes.
    if (res.begin() != res.end())
        for (const auto& name : route.configured) res.erase(name);
    if (!route.owns_date) res.date = current_http_date();
    res.cors_lines = apply_cors(res, route.cors, cors);

    if (never_has_body(res.result())) {
        res.body() = {};
        res.body().omitted = true;
        res.content_length_header.reset();
    } else {
        res.content_length_header = res.body().declared_size();
        if (req.method() == bhttp::verb::head) res.body().omitted = true;
    }
    // Beast's setter rewrites the Connection field; it is called only when the field must say something (the
    // pipeline sets no Connection field, and configuration refuses the name).
    const bool keep = keep_alive && req.keep_alive();
    if (keep != (res.version() >= 11)) res.keep_alive(keep);
}

}  // namespace modelhost::http
