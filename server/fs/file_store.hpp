// The served folder: opens files strictly beneath the root and reports their facts.
#pragma once

#include "fs/open_file.hpp"

#include <cstdint>
#include <ctime>
#include <optional>
#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::fs {

// What a lookup found: a regular file and its facts, or why there is none.
struct Lookup {
    enum class Result { found, not_found, unavailable, error };
    Result result = Result::not_found;
    std::shared_ptr<const OpenFile> file;          // null when served from the small-file cache
    std::shared_ptr<const std::string> content;    // the whole file, for small files (cached)
    std::uint64_t size = 0;
    std::timespec mtime{};
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
};

// Small hot files kept in memory, revalidated on every use by one stat of the path (device, inode, size and
// nanosecond mtime must all still match), so a replaced or rewritten file is never served stale.
class SmallFileCache {
public:
    static constexpr std::uint64_t largest_file = 64 * 1024;
    static constexpr std::uint64_t capacity_bytes = 64 * 1024 * 1024;

    std::optional<Lookup> find(int root_fd, const std::string& relative) const;
    void store(const std::string& relative, const Lookup& found);

private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, Lookup> entries_;
    std::uint64_t bytes_ = 0;
};

class FileStore {
public:
    // Opens the root directory once; throws std::system_error naming the path. Files smaller than
    // `cache_below` (at most SmallFileCache::largest_file) are kept in memory; larger ones are sent from disk.
    FileStore(const std::string& root, std::uint64_t cache_below);
    ~FileStore();
    FileStore(const FileStore&) = delete;
    FileStore& operator=(const FileStore&) = delete;

    // `relative` joins decoded, validated path segments ("a/b.json": no ".", "..", NUL, leading '/').
    // Symlinks may not leave the root.
    Lookup open(const std::string& relative) const;

    const std::string& root() const { return root_; }

private:
    int open_beneath(const std::string& relative) const;

    std::string root_;
    int root_fd_;
    std::uint64_t cache_below_;
    mutable SmallFileCache small_;
};

}  // namespace modelhost::fs
