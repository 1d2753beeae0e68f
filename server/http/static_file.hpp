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
// are left out of the representation lines); `resources` the files and caches the policy's rules work on. Without
// `codings` only the identity bytes are sent, and the answer does not vary on Accept-Encoding.
void serve_static(const Policy& policy, const Resources& resources, const RoutePolicy& route, const Target& target,
                  const Request& req, Reply& res, std::string& note, bool codings = true);

// The same for a file a mirror is still fetching (`growing`, its identity bytes sent as they arrive), made in `res`
// likewise: preconditions and ranges as for any file, against the validators the stored file will have as far as
// they are known now. Its Last-Modified is the upstream's (`last_modified`, 0 when none), which becomes the stored
// file's mtime; its ETag is known now only with server.etag "mtime" and that date (size and mtime). Codings wait
// for the stored file.
void serve_growing(const Policy& policy, const RoutePolicy& route, const Target& target, const Request& req,
                   std::shared_ptr<const fs::GrowingFile> growing, std::time_t last_modified, Reply& res, std::string& note);

}  // namespace modelhost::http
