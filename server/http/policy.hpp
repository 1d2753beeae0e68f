// Everything the pipeline consults, compiled once from the validated config and never changed afterwards.
#pragma once

#include "config/config.hpp"
#include "fs/file_store.hpp"

#include <string>

namespace modelhost::http {

// Response headers added to every response of a route (or of the whole server).
struct HeaderPolicy {
    config::HeaderList headers;
};

struct Policy {
    explicit Policy(const config::Config& cfg) : files(cfg.server.root), headers{cfg.headers} {}

    fs::FileStore files;
    HeaderPolicy headers;
};

}  // namespace modelhost::http
