// Step 11 of the pipeline: the one place where common headers, framing and connection persistence are set.
#pragma once

#include "http/handler.hpp"
#include "http/policy.hpp"

namespace modelhost::http {

// Applies Server, Date, nosniff, configured headers, Content-Length and keep-alive to any response.
void finalise(Reply& res, const Request& req, const HeaderPolicy& headers, bool keep_alive);

// A short text/plain body for an error status ("404 Not Found\n").
Reply error_reply(bhttp::status status, unsigned version);

}  // namespace modelhost::http
