// Durable installs: a file (or folder) written under a temporary name reaches the disk before it takes its final
// name, and the rename reaches the disk after. After a power loss a name then holds the whole, verified bytes or
// is not there: never an empty or short file under a valid name (ext4, XFS and btrfs may otherwise persist the rename
// before the data; dpkg and git sync before rename for this reason). Every writer under the root calls these.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace modelhost::fs {

// fdatasync of an open file's data (and the metadata needed to read it back). Throws std::system_error naming `what`.
void sync_data(int fd, const std::filesystem::path& what);

// fsync of the file at `path` (data and times). Throws std::system_error naming it.
void sync_file(const std::filesystem::path& path);

// fsync of a folder, so a rename or a new name in it is on disk. Throws std::system_error naming the folder.
void sync_folder(const std::filesystem::path& folder);

// Syncs `tmp` (a file, or a folder whose files were synced as they were written), renames it to `dest` (replacing
// a file of that name) and syncs the folder holding `dest` (and `tmp`'s, when another). Throws std::system_error
// naming the path; `tmp` is left in place on failure.
void install(const std::filesystem::path& tmp, const std::filesystem::path& dest);

// Syncs the file `tmp` and renames it to `dest`, leaving the folder's sync to whoever installs the folder holding it
// (install() syncs a folder before renaming it): for files gathered in a work folder that nobody reads before it is
// installed whole. One sync per file instead of two.
void install_in_work_folder(const std::filesystem::path& tmp, const std::filesystem::path& dest);

// Writes `bytes` to `dest` through a temporary name beside it, synced before the rename, with the folder's sync left
// as for install_in_work_folder: after a power loss the name holds the old bytes or the new ones, whole.
void write_in_work_folder(const std::filesystem::path& dest, std::string_view bytes);

// Writes `bytes` to `dest` through a temporary name beside it ("dest.tmp-PID"), then installs it as above. A failed
// write or rename leaves nothing under either name; a failed sync of the folder after the rename leaves the whole
// file in place, not yet durable. Throws std::system_error naming the path.
void write_atomically(const std::filesystem::path& dest, std::string_view bytes);

// Folder syncs asked for by several threads at once, coalesced (a group commit): a call returns once a sync of the
// folder that started after the call has finished, so it covers every rename made before the call, and concurrent
// fills landing in one folder (a model's shards) share one fsync instead of one each. Throws as sync_folder when no
// sync that began after the call succeeded. `sync` is what syncs a folder (sync_folder; a test gives its own).
class FolderSyncs {
public:
    explicit FolderSyncs(std::function<void(const std::filesystem::path&)> sync = sync_folder) : sync_(std::move(sync)) {}
    void sync(const std::filesystem::path& folder);

private:
    struct Folder {
        std::uint64_t started = 0, done = 0;  // numbers of the syncs begun and finished
        std::uint64_t succeeded = 0;          // the last that succeeded
        std::exception_ptr error;             // the last failure's
        bool running = false;
        int users = 0;
    };
    std::function<void(const std::filesystem::path&)> sync_;
    std::mutex m_;
    std::condition_variable cv_;
    std::map<std::filesystem::path, Folder> folders_;
};

// What an operator can do about a failed write or open, to follow the message that reports it: " (the file system
// is full: free space, then run it again)" for ENOSPC, and likewise for a read-only file system, an I/O error, too
// many open files and a permission refused; "" for any other error.
std::string advice(int error);

}  // namespace modelhost::fs
