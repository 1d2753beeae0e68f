// Durable installs: a file (or folder) written under a temporary name reaches the disk before it takes its final
// name, and the rename reaches the disk after. After a power loss a name then holds the whole, verified bytes or
// is not there: never an empty or short file under a valid name (ext4, XFS and btrfs may otherwise persist the rename
// before the data; dpkg and git sync before rename for this reason). Every writer under the root calls these.
#pragma once

#include <filesystem>
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

// Writes `bytes` to `dest` through a temporary name beside it ("dest.tmp-PID"), then installs it as above. A failed
// write or rename leaves nothing under either name; a failed sync of the folder after the rename leaves the whole
// file in place, not yet durable. Throws std::system_error naming the path.
void write_atomically(const std::filesystem::path& dest, std::string_view bytes);

// What an operator can do about a failed write or open, to follow the message that reports it: " (the file system
// is full: free space, then run it again)" for ENOSPC, and likewise for a read-only file system, an I/O error, too
// many open files and a permission refused; "" for any other error.
std::string advice(int error);

}  // namespace modelhost::fs
