// Files compiled into the program: each one's bytes in read-only memory (never copied), its SHA-256 and mtime
// taken when it was built. The table `modelhost_add_assets` generates (cmake/ModelhostAssets.cmake) and the file
// store's asset mounts (fs/file_store.hpp) read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost {

struct EmbeddedFile {
    std::string_view path;    // relative, '/'-separated, as under the folder it came from ("face/model.json")
    std::string_view bytes;   // the content; lives as long as the program (or the table's owner)
    std::string_view sha256;  // lower-case hex of the content's SHA-256 (64 characters)
    std::int64_t mtime = 0;   // the source file's modification time when built (seconds since the epoch)
};

// A table of files looked up by path: sorted once, searched in O(log n).
class EmbeddedFiles {
public:
    EmbeddedFiles() = default;
    explicit EmbeddedFiles(std::vector<EmbeddedFile> files) : files_(std::move(files)) {
        std::sort(files_.begin(), files_.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    }
    const EmbeddedFile* find(std::string_view path) const {
        auto it = std::lower_bound(files_.begin(), files_.end(), path, [](const auto& f, std::string_view p) { return f.path < p; });
        return it != files_.end() && it->path == path ? &*it : nullptr;
    }
    const std::vector<EmbeddedFile>& files() const { return files_; }

private:
    std::vector<EmbeddedFile> files_;
};

// What a path prefix serves: a folder, or a table of compiled-in files. The embedding API's Server::mount makes
// them; several on one prefix are searched in the order they were made, before server.root (fs/file_store.hpp).
struct Mount {
    std::string prefix;  // a URL path with a leading and a trailing '/': "/" or "/models/"
    std::string folder;  // a directory; or empty, and `files` set
    std::shared_ptr<const EmbeddedFiles> files;

    bool operator==(const Mount&) const = default;
};

}  // namespace modelhost
