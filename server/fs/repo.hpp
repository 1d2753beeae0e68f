// A folder of the root seen as a Hugging Face repository: its files listed the way the hub lists a revision, the
// commit it answers as, and each file's hashes (the hub's oids), computed once per file version.
#pragma once

#include <cstdint>
#include "fs/hash_queue.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::fs {

// One file or folder of a repository, its path relative to the repository's folder.
struct RepoEntry {
    std::string path;
    bool folder = false;
    std::uint64_t size = 0;
    std::timespec mtime{};
    std::uint64_t inode = 0;
    bool lfs = false;  // stored with Git LFS on a hub: HF's default .gitattributes types, and anything of 10 MiB or more
};

// An answer made from a snapshot (the model API's JSON), and the cursor of the page after it ("" on the last).
struct RepoAnswer {
    std::string body;
    std::string next;
};

// What a repository's folder holds at one moment. Immutable once made; the index replaces it when the folder changes.
struct RepoSnapshot {
    std::string model;                // "acme/tiny"
    std::vector<RepoEntry> entries;   // sorted by path; hidden names, compressed twins and symlinks left out
    std::string commit;               // 40 hex digits: the recorded one (fetch, the mirror), else derived
    bool recorded = false;            // `commit` was recorded by whoever filled the folder
    std::time_t last_modified = 0;    // the newest file's mtime
    bool truncated = false;           // over max_entries: the rest is not listed
    std::map<std::string, std::string, std::less<>> recorded_sha256;  // path -> hex, checked against size and mtime

    const RepoEntry* find(std::string_view path) const;
    // The answer for `key`, made by `make` the first time it is asked of this snapshot (so once per folder version).
    std::shared_ptr<const RepoAnswer> answer(const std::string& key, const std::function<RepoAnswer()>& make) const;
    // The answer for `key` when it was made already, else null.
    std::shared_ptr<const RepoAnswer> answered(const std::string& key) const;

private:
    static constexpr std::size_t max_answers = 64;  // kept per snapshot (pages of a large tree, variants)
    mutable std::mutex answers_mutex_;
    mutable std::map<std::string, std::shared_ptr<const RepoAnswer>, std::less<>> answers_;
};

// Where a repository records the commit it was filled from, beside its files (hidden: never served), as JSON:
// {"commit": "<40 hex>", "files": {"<path>": {"size": N, "mtime_ns": N, "sha256": "<hex>"}}}.
inline constexpr std::string_view commit_record_name = ".modelhost-hf.json";

// The repositories under one root: snapshots made on demand, each reused for a second before the folder is listed
// again (a listing that finds nothing changed keeps the snapshot and its hashes), and hashes kept per file version.
class RepoIndex {
public:
    static constexpr std::size_t max_entries = 20000;   // files and folders listed per repository
    static constexpr int max_depth = 32;                 // folder nesting followed
    static constexpr std::size_t max_repos = 4096;       // snapshots kept (the first by name go first) ...
    static constexpr std::size_t max_kept_entries = 1000000;  // ... and their entries, all together

    explicit RepoIndex(std::filesystem::path root);

    // The snapshot of ROOT/`model` (one or two path segments, already checked by the target step), or null when it
    // is not a folder.
    std::shared_ptr<const RepoSnapshot> snapshot(const std::string& model) const;

    // A file's SHA-256 (hex), recorded or read earlier; nullopt while it is not known (it is then read on the index's
    // own thread, fs/hash_queue.hpp) or when the file cannot be read.
    std::optional<std::string> sha256(const RepoSnapshot& repo, const RepoEntry& file) const;
    // A file's git blob id (hex SHA-1), or for an LFS file that of its pointer file; nullopt as for sha256.
    std::optional<std::string> oid(const RepoSnapshot& repo, const RepoEntry& file) const;
    // For a request that needs every file's hashes: nullopt when all are known (or cannot be read); else a join that
    // registers a function to run once, on the hashing thread, when they are (the model API's `wait`).
    std::optional<std::function<void(std::function<void()>)>> until_hashed(const std::shared_ptr<const RepoSnapshot>& repo) const;
    // Drops the requests waiting for hashes (the server stops).
    void close() const { hashes_->close(); }

private:
    struct Kept {
        std::shared_ptr<const RepoSnapshot> snapshot;
        std::chrono::steady_clock::time_point listed;
    };
    HashQueue::Job job_for(const RepoSnapshot& repo, const RepoEntry& file, bool sha256) const;
    std::optional<std::string> hash(const RepoSnapshot& repo, const RepoEntry& file, bool sha256) const;

    const std::filesystem::path root_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, Kept, std::less<>> kept_;
    mutable std::size_t kept_entries_ = 0;
    const std::unique_ptr<HashQueue> hashes_ = std::make_unique<HashQueue>();
};

// The text of the Git LFS pointer file for a blob (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
std::string lfs_pointer(std::string_view sha256_hex, std::uint64_t size);

// Whether a file of this name and size would be in LFS on the hub: the extensions of the hub's default
// .gitattributes, or 10 MiB and more (the hub refuses larger files outside LFS).
bool lfs_sized(std::string_view name, std::uint64_t size);

}  // namespace modelhost::fs
