// Each part is kept while the string of its settings is the same; a part whose settings changed is made afresh
// (the old one ends when the last request using it does).
#include "http/resources.hpp"

#include "metrics/metrics.hpp"

#include <string_view>

namespace modelhost::http {

namespace {

// One setting onto a key, ended by a NUL (which no setting holds), so two lists never run into the same key.
void add(std::string& key, std::string_view value) { key.append(value).push_back('\0'); }

void add(std::string& key, const config::HeaderList& headers) {
    add(key, std::to_string(headers.size()));
    for (const auto& [name, value] : headers) {
        add(key, name);
        add(key, value);
    }
}

// A representation head holds the ETag (its mode), Cache-Control (the rules) and leaves out the headers the path's
// route configures (the routes' globs and headers, the top level's).
std::string heads_key(const config::Config& cfg) {
    std::string k;
    add(k, cfg.server.root);
    add(k, cfg.server.etag == config::ServerConfig::Etag::content ? "content" : "mtime");
    add(k, std::to_string(cfg.cache_control.size()));
    for (const auto& rule : cfg.cache_control) {
        add(k, rule.path);
        add(k, rule.value);
    }
    add(k, cfg.headers);
    add(k, std::to_string(cfg.routes.size()));
    for (const auto& r : cfg.routes) {
        add(k, r.path);
        if (r.headers) add(k, *r.headers);
        else add(k, "inherited");
    }
    return k;
}

void count_scan(bool first) {
    metrics::count(first ? metrics::Event::catalog_first_scan : metrics::Event::catalog_refresh_scan);
}

// What the file store serves: the mounts in order (a table of compiled-in files by its address), then server.root.
std::vector<Mount> mounts_of(const config::Config& cfg) {
    std::vector<Mount> all = cfg.server.mounts;
    if (!cfg.server.root.empty()) all.push_back({"/", cfg.server.root, nullptr});
    return all;
}

}  // namespace

Resources::Keys resource_keys(const config::Config& cfg) {
    Resources::Keys k;
    for (const auto& m : cfg.server.mounts) {
        add(k.files, m.prefix);
        add(k.files, m.files ? std::to_string(reinterpret_cast<std::uintptr_t>(m.files.get())) : m.folder);
    }
    add(k.files, cfg.server.root);
    add(k.files, std::to_string(cfg.server.sendfile_min_bytes));
    k.gzip = k.files;
    add(k.gzip, std::to_string(cfg.compression.gzip_max_bytes));
    add(k.gzip, std::to_string(cfg.compression.gzip_cache_bytes));
    k.heads = heads_key(cfg) + k.files;
    add(k.catalog, cfg.server.root);
    return k;
}

Resources::Resources(const config::Config& cfg, const Resources* running, const std::function<bool()>& pass_end)
    : keys(resource_keys(cfg)) {
    const bool has = running != nullptr;
    if (has && running->keys.files == keys.files) {
        files = running->files;
    } else {
        files = std::make_shared<fs::FileStore>(mounts_of(cfg), cfg.server.sendfile_min_bytes);
        if (pass_end) files->set_pass_end(pass_end);
    }
    gzip = has && running->keys.gzip == keys.gzip
               ? running->gzip
               : std::make_shared<GzipCache>(cfg.compression.gzip_max_bytes, cfg.compression.gzip_cache_bytes);
    heads = has && running->keys.heads == keys.heads ? running->heads : std::make_shared<HeadCache>();
    catalog = has && running->keys.catalog == keys.catalog
                  ? running->catalog
                  : std::make_shared<models::CatalogService>(cfg.server.root, count_scan);
    if (!cfg.server.root.empty())  // (mounts only, as an app may serve: no folder is a repository)
        repos = has && running->keys.catalog == keys.catalog && running->repos ? running->repos
                                                                               : std::make_shared<fs::RepoIndex>(cfg.server.root);
}

}  // namespace modelhost::http
