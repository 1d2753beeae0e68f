// Step 7 of the pipeline, serving one file: 7a facts, 7b-7c the representation and its validators,
// 7d conditionals, 7e ranges.
#pragma once

#include "http/message.hpp"
#include "http/policy.hpp"
#include "http/target.hpp"

#include <string>

namespace modelhost::http {

// A 200, 206, 304, 404, 412, 416 or 5xx for the file named by `target`; `note` explains refusals for the log.
// `route` is the path's route (its configured headers are left out of the representation lines).
Reply serve_static(const Policy& policy, const RoutePolicy& route, const Target& target, const Request& req, std::string& note);

}  // namespace modelhost::http
