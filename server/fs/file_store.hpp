// The served folder: opens files strictly beneath the root and reports their facts.
#pragma once

#include "fs/open_file.hpp"

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::fs {

// What a lookup found: a regular file and its facts, or why there is none.
struct Lookup {
    enum class Result { found, not_found, unavailable, error };
    Result result = Result::not_found;
    std::shared_ptr<const OpenFile> file;
    std::uint64_t size = 0;
    std::timespec mtime{};
    std::uint64_t inode = 0;
};

class FileStore {
public:
    // Opens the root directory once; throws std::system_error naming the path.
    explicit FileStore(const std::string& root);
    ~FileStore();
    FileStore(const FileStore&) = delete;
    FileStore& operator=(const FileStore&) = delete;

    // `relative` joins decoded, validated path segments ("a/b.json": no ".", "..", NUL, leading '/').
    // Symlinks may not leave the root.
    Lookup open(const std::string& relative) const;

    const std::string& root() const { return root_; }

private:
    int open_beneath(const std::string& relative) const;

    std::string root_;
    int root_fd_;
};

}  // namespace modelhost::fs
