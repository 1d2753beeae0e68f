// Step 7 of the pipeline, serving one file: 7a facts, 7b-7c the representation and its validators,
// 7d conditionals, 7e ranges.
#pragma once

#include "http/message.hpp"
#include "http/policy.hpp"
#include "http/resources.hpp"
#include "http/target.hpp"

#include <ctime>
#include <memory>
#include <string>

namespace modelhost::http {

// A 200, 206, 304, 404, 412, 416 or 5xx for the file named by `target`, made in `res` (a Reply as default-constructed:
// no fields, no content); `note` explains refusals for the log. `route` is the path's route (its configured headers
// are left out of the representation lines); `resources` the files and caches the policy's rules work on.
void serve_static(const Policy& policy, const Resources& resources, const RoutePolicy& route, const Target& target,
                  const Request& req, Reply& res, std::string& note);

// A 200 for a file a mirror is still fetching: the length its upstream promised, the bytes sent as they arrive; no
// ranges, codings or conditionals (the stored file answers those once it is whole). ETag and Last-Modified only when
// they will be the stored file's: server.etag "mtime" and an upstream Last-Modified (`last_modified` > 0), which
// becomes the stored file's mtime.
Reply serve_growing(const Policy& policy, const RoutePolicy& route, const Target& target, const Request& req,
                    std::shared_ptr<const fs::GrowingFile> growing, std::time_t last_modified);

}  // namespace modelhost::http
