// Step 8 of the pipeline: the one place where common, CORS and configured headers, framing and persistence are set.
#pragma once

#include "http/message.hpp"
#include "http/policy.hpp"

namespace modelhost::http {

// Applies Server, Date, nosniff, CORS + Vary, configured headers, Content-Length and keep-alive to any response.
void finalise(Reply& res, const Request& req, const RoutePolicy& route, const CorsDecision& cors, bool keep_alive);

}  // namespace modelhost::http
