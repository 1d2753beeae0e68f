// An open file descriptor that closes itself; shared between a response and the body writer.
#pragma once

namespace modelhost::fs {

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
