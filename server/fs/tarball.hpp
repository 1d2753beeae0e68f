// An npm package tarball (a gzip'd tar: POSIX ustar with pax headers, as npm pack writes it) read as hostile input
// and unpacked into a folder. zlib inflates it and a bounded tar reader written here walks it: the package format
// needs regular files only, so a reader that knows no other entry is smaller than libarchive (and its dozen formats,
// filters and libraries) and has less to get wrong. It writes only into the folder it is given, which the caller makes
// fresh and removes when the tarball is refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::fs {

// Why a tarball is refused: the entry (its number and name, as the tarball spells it) and what is wrong with it.
struct TarballError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TarballLimits {
    std::uint64_t max_entries = 50000;              // files and folders
    std::uint64_t max_entry_bytes = 1ull << 30;     // one file
    std::uint64_t max_total_bytes = 4ull << 30;     // all files together (a package's declared unpackedSize, when it has one)
};

// A file the tarball holds, by its path in the package (the first segment, npm's "package/", stripped).
struct TarballFile {
    std::string path;
    std::uint64_t size = 0;
};

// Reads the gzip'd tarball in `fd` from its start and refuses it (TarballError) for any entry that is not a regular
// file or a folder (symlinks, hard links, devices, FIFOs, sparse or unknown kinds), whose path is absolute, holds
// "..", "." or an empty segment, a hidden segment (".npmrc"), a backslash, a control character or invalid UTF-8, or is
// over 1024 bytes or 32 segments; for a folder that holds bytes, a path given twice (or a file and a folder of one
// name), an entry over `limits.max_entry_bytes`, more than `limits.max_entries` entries, more than
// `limits.max_total_bytes` in all, pax and long-name headers over 16 MiB in all, a damaged header (checksum, sizes)
// or a stream cut short. Writes each file `keep` accepts into `dest` (an existing empty folder) as it goes, synced,
// so a refusal may leave files there: `dest` is a temporary folder its caller removes then. Returns every file the
// tarball holds (kept or not). Throws std::system_error when `dest` cannot be written.
std::vector<TarballFile> unpack_npm_tarball(int fd, const std::filesystem::path& dest, const TarballLimits& limits,
                                            const std::function<bool(std::string_view path)>& keep);

}  // namespace modelhost::fs
