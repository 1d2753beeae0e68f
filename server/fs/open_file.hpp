// An open file descriptor that closes itself; shared between a response and the body writer.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace modelhost::fs {

// Bytes in memory that a response may hold without copying them: a cached file's or a made body's (owned by its
// string), or a compiled-in file's (in the program's read-only memory: no owner). Its length is kept beside it.
using Bytes = std::shared_ptr<const char>;

inline Bytes bytes_of(std::shared_ptr<const std::string> s) {
    const char* first = s->data();
    return {std::move(s), first};
}
inline Bytes bytes_of_static(std::string_view program_bytes) {
    return {std::shared_ptr<const void>(), program_bytes.empty() ? "" : program_bytes.data()};
}

class OpenFile {
public:
    explicit OpenFile(int fd) noexcept : fd_(fd) {}
    ~OpenFile();
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    int fd() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace modelhost::fs
