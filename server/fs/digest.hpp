// SHA-256 and git's SHA-1 blob ids of bytes in memory or in an open file: the content ETag, the Hugging Face layout's
// X-Linked-Etag and its API's oids.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelhost::fs {

enum class Digest { sha256, sha1, sha512 };

// The lowercase hex digest of `prefix` followed by the bytes [offset, offset + size) of the open file `fd`, read with
// pread; nullopt when the file is shorter than that or cannot be read.
// With `stop`, reading ends (nullopt) at the next block once it is set.
std::optional<std::string> digest_file(Digest d, int fd, std::uint64_t offset, std::uint64_t size,
                                       std::string_view prefix = {}, const std::atomic<bool>* stop = nullptr);
// The lowercase hex digest of `bytes`.
std::string digest_bytes(Digest d, std::string_view bytes);

// Git's object id of a file's bytes (SHA-1 of "blob SIZE\0" + the bytes), what the hub calls a file's oid.
std::optional<std::string> git_blob_id(int fd, std::uint64_t size, const std::atomic<bool>* stop = nullptr);

}  // namespace modelhost::fs
