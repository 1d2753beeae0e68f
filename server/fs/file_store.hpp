// The served folder: opens files strictly beneath the root and reports their facts.
#pragma once

#include "base/assets.hpp"
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
    std::shared_ptr<const OpenFile> file;  // null when served from memory
    std::uint64_t file_offset = 0;         // where its bytes begin in `file` (a compiled-in file: in the program's file)
    Bytes content;                         // the whole file (`size` bytes): a small file's (cached), a compiled-in one's
    // A larger file's first `head_size` bytes (at most head_bytes), read when it was opened: a range within them (the
    // loaders' `bytes=0-0` probe, a format's header) is sent from memory, without a read of its own.
    Bytes head;
    std::uint64_t head_size = 0;
    static constexpr std::uint64_t head_bytes = 4096;
    std::string_view sha256;               // a compiled-in file's (hex, computed when it was built), else empty
    std::uint64_t size = 0;
    std::timespec mtime{};
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
};

// Remembered lookups: a small file's bytes, a larger file's open descriptor, or "not there". An entry is trusted
// without a system call only by a pass (of one thread's event loop) that began before one stat of its path last
// matched it (device, inode, size and nanosecond mtime), so a replaced or rewritten file is seen by every pass that
// begins after the change, on any thread, and a file seen within a pass is one version for every request of that
// pass (see FileStore::end_pass). Passes and checks are numbered from one counter, so "began before" is a comparison.
class LookupCache {
public:
    static constexpr std::uint64_t largest_file = 64 * 1024;           // bytes kept in memory up to this size
    static constexpr std::uint64_t capacity_bytes = 64 * 1024 * 1024;  // memory for those bytes in all
    static constexpr std::size_t max_descriptors = 1024;               // larger files kept open (and their heads)
    static constexpr std::size_t max_missing = 4096;                   // "not there" answers (sidecars, 404s)

    // The entry for `relative` when it was checked after the pass numbered `pass_began` began, or still matches a
    // stat of its path now (it then counts as checked now and `checked` is set); nullopt: look the file up afresh.
    std::optional<Lookup> find(int root_fd, std::string_view relative, std::uint64_t pass_began, bool& checked) const;
    // Remembers a lookup (found or not_found; nothing else) as checked at `checked_at` (a number taken before it).
    void store(std::string_view relative, const Lookup& found, std::uint64_t checked_at);
    // Drops the entry for `relative`, so the next lookup opens the path afresh, even within the pass.
    void forget(std::string_view relative);

private:
    struct Entry {
        Lookup lookup;
        mutable std::atomic<std::uint64_t> checked_at{0};
    };
    bool still_valid(int root_fd, const std::string& relative, const Lookup& e) const;
    void make_room(const Lookup& incoming);

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
    std::uint64_t bytes_ = 0;
    std::size_t descriptors_ = 0, missing_ = 0;
};

// The files served: the folders and compiled-in tables mounted on path prefixes, searched in order; the first that
// holds a path answers for it. The binary mounts one folder, server.root, at "/".
class FileStore {
public:
    // Opens each folder once; throws std::system_error naming the path. Files smaller than `cache_below` (at most
    // LookupCache::largest_file) are kept in memory; larger ones are sent from disk.
    FileStore(const std::string& root, std::uint64_t cache_below);
    FileStore(const std::vector<Mount>& mounts, std::uint64_t cache_below);
    ~FileStore();
    FileStore(const FileStore&) = delete;
    FileStore& operator=(const FileStore&) = delete;

    // `relative` joins decoded, validated path segments ("a/b.json": no ".", "..", NUL, leading '/').
    // Symlinks may not leave the folder they are in.
    Lookup open(std::string_view relative) const;
    // The names of the folder `relative` ("a/b": validated segments, as for open) in each mounted folder that holds it,
    // hidden ones left out; at most `max_names`. Nothing is remembered: each call reads the folder.
    std::vector<std::string> list(std::string_view relative, std::size_t max_names = 10000) const;
    // Forgets what was remembered of `relative`: its next lookup opens it afresh, also within the pass (a mirror file
    // that another process installed again right after this one found it missing).
    void forget(std::string_view relative) const;

    // Event-loop passes, one per thread. Once `request_pass_end` is set, a lookup checked by a stat after the calling
    // thread's pass began is trusted without one until that thread calls `end_pass()`. A pass begins at its thread's
    // first lookup, which calls `request_pass_end`: it must make `end_pass()` run on this thread after the handlers
    // already queued on its event loop (the server posts it there) and return true — or return false when the thread
    // runs no event loop (its next lookup then begins another pass). A pass is the thread's whichever store it used,
    // so a thread that leaves its event loop ends its pass. Unset (tools, tests): every lookup of a remembered file
    // costs one stat.
    void set_pass_end(std::function<bool()> request_pass_end);
    void end_pass() const;

    // A compiled-in file large enough to go by sendfile(2), as a disk file would: where its bytes are in the file the
    // program maps them from (its executable or library), whose page-cache pages they are.
    struct Backing {
        std::shared_ptr<const OpenFile> file;
        std::uint64_t offset = 0;
    };

private:
    struct Folder {
        explicit Folder(int fd) : dir(fd) {}
        OpenFile dir;  // the folder's descriptor, closed with it
        mutable LookupCache cache;
    };
    struct Mounted {
        std::string prefix;  // relative: "" or "models/"
        std::unique_ptr<Folder> folder;
        std::shared_ptr<const EmbeddedFiles> files;
        std::unordered_map<const EmbeddedFile*, Backing> backed;
    };
    void find_backing(Mounted& m) const;
    Lookup open_in(const Folder& folder, std::string_view relative) const;
    Lookup open_afresh(const Folder& folder, std::string_view relative) const;
    std::uint64_t pass_began() const;

    std::vector<Mounted> mounts_;
    std::uint64_t cache_below_;
    std::function<bool()> request_pass_end_;
};

}  // namespace modelhost::fs
