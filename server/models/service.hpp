// The catalog as the server keeps it: rebuilt off the I/O threads, at most once a second and one build at a
// time, with sha256 per file version; requests always get the last complete catalog and its summary.
#pragma once

#include "models/catalog.hpp"
#include "models/summary.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace modelhost::models {

class CatalogService {
public:
    // Called on the service's thread after each scan of the tree; `first`: the service's first (every file hashed).
    using ScanHook = std::function<void(bool first)>;

    // Starts the first build at once, on the service's own thread.
    explicit CatalogService(std::filesystem::path root, ScanHook scanned = {});
    ~CatalogService();

    // The body of GET /v1/models (every model with its URLs, files, sizes, sha256 and status), or null while the
    // first build has not finished. Never waits for a build: one older than a second asks for a new one.
    std::shared_ptr<const std::string> models_json();
    // The same build's counts and first rows (summary.hpp), or null before the first build; asks for a new build
    // as models_json does.
    std::shared_ptr<const CatalogSummary> summary();

private:
    struct Build {
        std::string json;
        CatalogSummary summary;
    };
    void ask_if_stale();  // with mutex_ held
    void run();
    Build build();
    // One model of /v1/models (hashes its files); `runtimes` as held_runtimes (models/loaders.hpp) gives them.
    nlohmann::json model_json(const ModelEntry& m, const std::map<std::string, std::string>& runtimes);
    std::string sha256_of(const std::string& relative);

    const std::filesystem::path root_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::shared_ptr<const std::string> json_;  // the last complete build
    std::shared_ptr<const CatalogSummary> summary_;  // ... its summary
    std::chrono::steady_clock::time_point built_{};
    bool wanted_ = true;    // a build has been asked for
    bool building_ = false;
    bool stopping_ = false;
    // relative path -> (version "inode-size-mtime", hex sha256): hashes are computed once per file version.
    // Only the build thread touches it.
    std::map<std::string, std::pair<std::string, std::string>> hashes_;
    const ScanHook scanned_;
    std::thread worker_;  // last: starts once everything above is in place
};

}  // namespace modelhost::models
