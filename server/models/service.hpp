// The catalog as the server keeps it: rescanned when asked after a second or more, sha256 per file version.
#pragma once

#include "models/catalog.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace modelhost::models {

class CatalogService {
public:
    explicit CatalogService(std::filesystem::path root) : root_(std::move(root)) {}

    // The body of GET /v1/models: every model with its URLs, files, sizes, sha256 and status.
    std::string models_json();

    // Scans now and returns the catalog (start-up summary).
    Catalog scan_now();

private:
    std::string sha256_of(const std::string& relative);

    std::filesystem::path root_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point built_{};
    std::string json_;
    // relative path -> (version "inode-size-mtime", hex sha256): hashes are computed once per file version.
    std::map<std::string, std::pair<std::string, std::string>> hashes_;
};

}  // namespace modelhost::models
