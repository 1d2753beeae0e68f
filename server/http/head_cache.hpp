// Pre-built representation headers per file version: a hot file's response needs no formatting (ETag, dates).
#pragma once

#include "fs/file_store.hpp"
#include "http/reply.hpp"

#include <array>
#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace modelhost::http {

// Keyed by path and representation; an entry counts only while the file's device, inode, size and nanosecond
// mtime are those it was built from, so a replaced file never shows an old ETag.
class HeadCache {
public:
    enum class Slot : std::size_t { identity, br_file, gzip_file, gzip_memory };
    static constexpr std::size_t max_paths = 16384;  // beyond this the cache starts over

    std::shared_ptr<const RepresentationHead> find(std::string_view relative, Slot slot, const fs::Lookup& file) const;
    void store(std::string_view relative, Slot slot, const fs::Lookup& file, std::shared_ptr<const RepresentationHead> head);

private:
    struct Version {
        std::uint64_t device = 0, inode = 0, size = 0;
        std::timespec mtime{};
        bool operator==(const Version& o) const {
            return device == o.device && inode == o.inode && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
                   mtime.tv_nsec == o.mtime.tv_nsec;
        }
    };
    struct Built {
        Version version;
        std::shared_ptr<const RepresentationHead> head;
    };
    static Version version_of(const fs::Lookup& f) { return {f.device, f.inode, f.size, f.mtime}; }

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::array<Built, 4>, StringHash, std::equal_to<>> entries_;
};

}  // namespace modelhost::http
