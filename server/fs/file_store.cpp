// Race-free lookups below the root with openat2(RESOLVE_BENEATH); a no-symlink walk where the kernel lacks it.
#include "fs/file_store.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

namespace modelhost::fs {

OpenFile::~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
}

FileStore::FileStore(const std::string& root) : root_(root) {
    root_fd_ = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open root \"" + root + "\"");
}

FileStore::~FileStore() { ::close(root_fd_); }

namespace {

constexpr int open_flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

// Fallback for kernels without openat2: walk one component at a time and refuse every symlink.
int open_no_symlinks(int root_fd, const std::string& relative) {
    int dir = root_fd;
    std::size_t start = 0;
    for (;;) {
        std::size_t slash = relative.find('/', start);
        std::string part = relative.substr(start, slash - start);
        bool last = slash == std::string::npos;
        int fd = ::openat(dir, part.c_str(), (last ? open_flags : O_PATH | O_DIRECTORY | O_CLOEXEC) | O_NOFOLLOW);
        int saved = errno;
        if (dir != root_fd) ::close(dir);
        if (fd < 0 || last) {
            errno = saved;
            return fd;
        }
        dir = fd;
        start = slash + 1;
    }
}

}  // namespace

int FileStore::open_beneath(const std::string& relative) const {
    static std::atomic<bool> have_openat2{true};
    if (have_openat2.load(std::memory_order_relaxed)) {
        open_how how{};
        how.flags = open_flags;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long fd;
        do {
            fd = ::syscall(SYS_openat2, root_fd_, relative.c_str(), &how, sizeof how);
        } while (fd < 0 && errno == EAGAIN);
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<int>(fd);
        have_openat2.store(false, std::memory_order_relaxed);  // seccomp or an old kernel: every later lookup uses the walk
    }
    return open_no_symlinks(root_fd_, relative);
}

Lookup FileStore::open(const std::string& relative) const {
    Lookup out;
    if (relative.empty()) return out;

    int fd = open_beneath(relative);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) out.result = Lookup::Result::unavailable;
        else if (errno == EIO) out.result = Lookup::Result::error;
        return out;  // ENOENT, ENOTDIR, EXDEV (escapes root), ELOOP, EACCES...: not found
    }
    auto file = std::make_shared<const OpenFile>(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        out.result = Lookup::Result::error;
        return out;
    }
    if (!S_ISREG(st.st_mode)) return out;  // directories, FIFOs, devices: never served
    out.result = Lookup::Result::found;
    out.file = std::move(file);
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.mtime = st.st_mtim;
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    return out;
}

}  // namespace modelhost::fs
