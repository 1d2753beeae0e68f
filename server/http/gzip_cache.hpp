// On-the-fly gzip for compressible files, compressed once per file version and kept in memory.
#pragma once

#include "fs/file_store.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace modelhost::http {

class GzipCache {
public:
    GzipCache(std::uint64_t max_file_bytes, std::uint64_t capacity_bytes)
        : max_file_bytes_(max_file_bytes), capacity_(capacity_bytes) {}

    // The gzip bytes of `file` (at `path`, the version `version`: its inode, size and mtime), compressing (and caching)
    // them on a miss.
    // nullptr when the file is too large, unreadable or would not shrink, and while the same version is being
    // compressed for another request or max_concurrent compressions run (that request is served identity).
    std::shared_ptr<const std::string> get(const std::string& path, const std::string& version, const fs::Lookup& file);

private:
    struct Entry {
        std::string version;
        std::shared_ptr<const std::string> gz;  // null: known not to shrink
    };
    std::uint64_t max_file_bytes_;
    std::uint64_t capacity_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::uint64_t bytes_ = 0;
    // "path\netag" of the compressions running now (at most max_concurrent).
    std::unordered_set<std::string> in_flight_;
    static constexpr std::size_t max_concurrent = 2;
};

// Compresses `data` as a gzip member at `level`; empty string on failure.
std::string gzip_compress(std::string_view data, int level);

}  // namespace modelhost::http
