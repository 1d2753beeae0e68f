// The served folder: opens files strictly beneath the root and reports their facts.
#pragma once

#include "base/text.hpp"
#include "fs/open_file.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
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

// Remembered lookups: a small file's bytes, a larger file's open descriptor, or "not there". An entry is trusted
// without a system call only within the event-loop pass in which one stat of its path last matched it (device,
// inode, size and nanosecond mtime), so a replaced or rewritten file is seen from the next pass on, and a file seen
// within a pass is one version for every request of that pass (see FileStore::end_pass).
class LookupCache {
public:
    static constexpr std::uint64_t largest_file = 64 * 1024;           // bytes kept in memory up to this size
    static constexpr std::uint64_t capacity_bytes = 64 * 1024 * 1024;  // memory for those bytes in all
    static constexpr std::size_t max_descriptors = 1024;               // larger files kept open
    static constexpr std::size_t max_missing = 4096;                   // "not there" answers (sidecars, 404s)

    // The entry for `relative` when it was checked in `pass`, or still matches a stat of its path now (it then
    // counts as checked in `pass` and `checked` is set); nullopt: look the file up afresh.
    std::optional<Lookup> find(int root_fd, std::string_view relative, std::uint64_t pass, bool& checked) const;
    // Remembers a lookup (found or not_found; nothing else) as checked in `pass`.
    void store(std::string_view relative, const Lookup& found, std::uint64_t pass);

private:
    struct Entry {
        Lookup lookup;
        mutable std::atomic<std::uint64_t> checked_in{0};
    };
    bool still_valid(int root_fd, const std::string& relative, const Lookup& e) const;
    void make_room(const Lookup& incoming);

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
    std::uint64_t bytes_ = 0;
    std::size_t descriptors_ = 0, missing_ = 0;
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
    Lookup open(std::string_view relative) const;

    // Event-loop passes. Once `request_pass_end` is set, a lookup checked by a stat in this pass is trusted without
    // one until `end_pass()`; the first such check of a pass calls `request_pass_end`, which must make `end_pass()`
    // run after the handlers already queued (the server posts it to its event loop). Unset (tools, tests): every
    // lookup of a remembered file costs one stat.
    void set_pass_end(std::function<void()> request_pass_end);
    void end_pass() const;

    const std::string& root() const { return root_; }

private:
    int open_beneath(const std::string& relative) const;
    Lookup open_afresh(std::string_view relative) const;
    void relied_on_pass() const;

    std::string root_;
    int root_fd_;
    std::uint64_t cache_below_;
    mutable LookupCache cache_;
    std::function<void()> request_pass_end_;
    mutable std::atomic<std::uint64_t> pass_{1};
    mutable std::atomic<bool> end_requested_{false};
};

}  // namespace modelhost::fs
