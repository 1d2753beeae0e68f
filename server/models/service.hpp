// The catalog as the server keeps it: rebuilt off the I/O threads, at most once a second and one build at a
// time, with sha256 per file version; requests always get the last complete catalog.
#pragma once

#include "models/catalog.hpp"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace modelhost::models {

class CatalogService {
public:
    // Starts the first build at once, on the service's own thread.
    explicit CatalogService(std::filesystem::path root);
    ~CatalogService();

    // The body of GET /v1/models (every model with its URLs, files, sizes, sha256 and status), or null while the
    // first build has not finished. Never waits for a build: one older than a second asks for a new one.
    std::shared_ptr<const std::string> models_json();

private:
    void run();
    std::string build();
    std::string sha256_of(const std::string& relative);

    const std::filesystem::path root_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::shared_ptr<const std::string> json_;  // the last complete build
    std::chrono::steady_clock::time_point built_{};
    bool wanted_ = true;    // a build has been asked for
    bool building_ = false;
    bool stopping_ = false;
    // relative path -> (version "inode-size-mtime", hex sha256): hashes are computed once per file version.
    // Only the build thread touches it.
    std::map<std::string, std::pair<std::string, std::string>> hashes_;
    std::thread worker_;
};

}  // namespace modelhost::models
