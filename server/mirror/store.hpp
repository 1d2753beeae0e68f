// The mirrors' record of what they stored, shared by every modelhost process that uses the same root (replicas on
// one volume, several instances on one host). What is shared, all under `ROOT/.mirror/`:
//   index.json      a snapshot: {"journal": N, "files": {"/hub/a.bin": {"etag", "last_modified", "checked", "used",
//                   "size"}}}, written atomically (fs/durable.hpp) when the journal is compacted
//   journal.N       the changes since that snapshot, one JSON line each ({"put": path, ...}, {"del": path},
//                   {"use": path, "t": s}, {"check": path, "t": s}), appended under the lock: O(1) per fill and per
//                   batch of hits, where rewriting the index was O(stored files) per fill
//   lock            byte 0: the store lock (append, evict, compact); byte 1 + hash(path): that file's fill lock, held
//                   by the process filling it, so a fill is single-flight across processes too
//   tmp/ID/         one process's transfers under way; tmp/ID.owner is locked for that process's life, so a start
//                   removes only what a process that is gone left behind
// The locks are open-file-description byte-range locks (F_OFD_SETLK): local file systems hold them, and NFS passes
// byte-range locks to its lock manager (NLMv4 / NFSv4). Each process keeps its own view in memory, caught up from
// the journal before every decision that removes or installs a file, and at most every `catch_up_every` otherwise.
// Eviction picks the least recently used files of that caught-up view, so `max_bytes` holds over all the processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <string>
#include <vector>

namespace modelhost::mirror {

using Clock = std::chrono::system_clock;

// A file the mirror stored: what its upstream said of it, and when it was last checked and used.
struct Entry {
    std::string etag, last_modified;
    Clock::time_point checked;
    Clock::time_point used;
    std::uint64_t size = 0;
};

class Store {
public:
    static constexpr auto catch_up_every = std::chrono::milliseconds(100);  // lookups see other processes' changes
    static constexpr auto flush_uses_every = std::chrono::seconds(2);      // hits reach the journal in batches
    static constexpr std::uint64_t min_compaction = 4096;                   // journal lines before a compaction

    // Opens (making) `root`/.mirror for mirrors at `prefixes`. Under the store lock: loads the snapshot and journal,
    // removes the stored files whose size disagrees with their record (left by an unclean stop) and what processes
    // that are gone left in tmp/, and compacts. Throws std::system_error naming the path.
    Store(std::filesystem::path root, std::vector<std::string> prefixes);
    ~Store();  // close(), and removes this process's tmp folder
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // At a clean stop, on the stopping thread: compacts (waiting for the store lock), so the index lists exactly what
    // is stored. An install after it fails (a transfer still running then leaves only its tmp file). Idempotent.
    void close();

    // The record of `path`, noting a use; nullopt when none.
    std::optional<Entry> use(const std::string& path);
    // A lookup did not find `path`'s file (another process evicted it after its record, or after its install was
    // seen on disk): forgets any record of it. True when the file is indeed gone.
    bool forget_if_gone(const std::string& path);
    // A fresh name in this process's tmp folder.
    std::filesystem::path temporary();

    // Holds `path`'s fill lock across processes until destroyed.
    class FillLock {
    public:
        FillLock(FillLock&& other) noexcept : fd_(other.fd_), at_(other.at_) { other.fd_ = -1; }
        FillLock& operator=(FillLock&&) = delete;
        ~FillLock();
    private:
        friend class Store;
        FillLock(int fd, std::uint64_t at) : fd_(fd), at_(at) {}
        int fd_;
        std::uint64_t at_;
    };
    // Waits until `deadline` for `path`'s fill lock; nullopt on timeout. Then `use` shows what the process that held
    // it stored meanwhile.
    std::optional<FillLock> lock_fill(const std::string& path, std::chrono::steady_clock::time_point deadline);

    // Records an upstream check of `path` that found it unchanged.
    void checked(const std::string& path);
    // Renames `tmp` (synced) to `path`'s file and records it; first drops the stored files named in `drop` (the
    // shards of a replaced model.json); then evicts least recently used files of `path`'s mirror, other than `path`,
    // while that mirror holds more than `max_bytes` (0: no bound). Throws std::system_error.
    void install(const std::string& path, const std::filesystem::path& tmp, Entry e, std::uint64_t max_bytes,
                 const std::vector<std::string>& drop);
    // The recorded paths under `folder` (a path ending in '/').
    std::vector<std::string> stored_under(const std::string& folder);

    // The file a record's path names.
    std::filesystem::path file_of(const std::string& path) const;

private:
    struct Stored {
        Entry entry;
        std::size_t prefix;  // index into prefixes_
    };
    class Locked;  // holds the store lock

    std::size_t prefix_of(const std::string& path) const;
    void load_snapshot();
    bool open_journal();
    bool journal_current(struct stat& st, bool locked);  // under m_
    void catch_up(bool locked);           // under m_ (and the store lock when `locked`)
    void apply(const std::string& line);  // under m_
    void set(const std::string& path, Entry e);
    void erase(const std::string& path);
    bool append(const std::string& lines);  // under the store lock and m_
    bool record_lines(const std::string& lines);  // append after a locked catch-up; false (errno set) when not
    std::string pending_uses();             // under m_
    std::string evict(std::size_t prefix, std::uint64_t max_bytes, const std::string& keep);  // under both
    void compact(std::unique_lock<std::mutex>& g);  // under both (m_ released meanwhile)
    void clear_dead_transfers();

    std::filesystem::path root_, dir_;
    std::vector<std::string> prefixes_;
    mutable std::mutex m_;          // the members below, and this process's use of the store lock
    std::mutex store_lock_;         // one thread of this process at a time holds the store lock
    int lock_fd_ = -1, journal_fd_ = -1, owner_fd_ = -1;
    bool closed_ = false;  // under the store lock
    std::uint64_t journal_ = 0, offset_ = 0, lines_ = 0, next_tmp_ = 0, index_inode_ = 0;
    std::string tmp_name_;
    std::map<std::string, Stored, std::less<>> files_;
    std::vector<std::uint64_t> totals_;                                    // bytes stored per prefix
    std::vector<std::set<std::pair<Clock::time_point, std::string>>> lru_;  // per prefix, by last use
    std::map<std::string, Clock::time_point> uses_;                       // hits not yet in the journal
    std::chrono::steady_clock::time_point caught_up_{}, flushed_{};
};

}  // namespace modelhost::mirror
