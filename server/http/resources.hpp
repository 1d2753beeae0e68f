// The long-lived state behind the rules: the served folder, the caches and the model catalog. Unlike Policy (the
// rules, rebuilt whole by each reload) each part is made from the few settings it depends on and carried over a
// reload that leaves those settings as they were, so a reload that changes only CORS or headers keeps every cached
// file and header block and starts no new scan of the root.
#pragma once

#include "config/config.hpp"
#include "fs/file_store.hpp"
#include "fs/repo.hpp"
#include "http/gzip_cache.hpp"
#include "http/head_cache.hpp"
#include "models/service.hpp"

#include <functional>
#include <memory>
#include <string>

namespace modelhost::http {

struct Resources {
    // What `cfg` needs, taking each part of `running` (null at start) whose settings `cfg` leaves unchanged; the
    // file store gets `pass_end` (fs::FileStore::set_pass_end) when it is new and `pass_end` is set. Throws
    // std::system_error when a new root cannot be opened.
    Resources(const config::Config& cfg, const Resources* running, const std::function<bool()>& pass_end);

    std::shared_ptr<fs::FileStore> files;
    std::shared_ptr<GzipCache> gzip;
    std::shared_ptr<HeadCache> heads;
    std::shared_ptr<models::CatalogService> catalog;
    std::shared_ptr<fs::RepoIndex> repos;  // the root's folders as Hugging Face repositories (http/hf_layout.cpp); null without a root

    // The settings each part was made from, one string per part (compared, never parsed).
    struct Keys {
        std::string files, gzip, heads, catalog;
        bool operator==(const Keys&) const = default;
    };
    Keys keys;
};

// The settings each part of Resources depends on, as Resources::keys holds them.
Resources::Keys resource_keys(const config::Config& cfg);

}  // namespace modelhost::http
