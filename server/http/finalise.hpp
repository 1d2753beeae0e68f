// Step 11 of the pipeline: the one place where common, CORS and configured headers, framing and persistence are set.
#pragma once

#include "http/handler.hpp"
#include "http/policy.hpp"

namespace modelhost::http {

// Applies Server, Date, nosniff, CORS + Vary, configured headers, Content-Length and keep-alive to any response.
void finalise(Reply& res, const Request& req, const RoutePolicy& route, const CorsDecision& cors, bool keep_alive);

// A short text/plain body for an error status ("404 Not Found\n").
Reply error_reply(bhttp::status status, unsigned version);

}  // namespace modelhost::http
