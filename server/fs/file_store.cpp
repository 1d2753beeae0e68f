// Race-free lookups below the root with openat2(RESOLVE_BENEATH); a no-symlink walk where the kernel lacks it.
#include "fs/file_store.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
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

FileStore::FileStore(const std::string& root, std::uint64_t cache_below)
    : root_(root), cache_below_(std::min(cache_below, SmallFileCache::largest_file + 1)) {
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

std::optional<Lookup> SmallFileCache::find(int root_fd, const std::string& relative) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(relative);
    if (it == entries_.end()) return std::nullopt;
    // Following symlinks here is safe: only the very inode that was opened beneath the root can match.
    struct stat st {};
    if (::fstatat(root_fd, relative.c_str(), &st, 0) != 0) return std::nullopt;
    const Lookup& e = it->second;
    if (static_cast<std::uint64_t>(st.st_ino) != e.inode || static_cast<std::uint64_t>(st.st_dev) != e.device ||
        static_cast<std::uint64_t>(st.st_size) != e.size || st.st_mtim.tv_sec != e.mtime.tv_sec ||
        st.st_mtim.tv_nsec != e.mtime.tv_nsec)
        return std::nullopt;
    return e;
}

void SmallFileCache::store(const std::string& relative, const Lookup& found) {
    std::unique_lock lock(mutex_);
    if (auto it = entries_.find(relative); it != entries_.end()) {
        bytes_ -= it->second.size;
        entries_.erase(it);
    }
    if (bytes_ + found.size > capacity_bytes) {
        entries_.clear();  // a simple bound: start over rather than grow without limit
        bytes_ = 0;
    }
    Lookup entry = found;
    entry.file = nullptr;  // the cache holds bytes, never descriptors
    entries_.emplace(relative, std::move(entry));
    bytes_ += found.size;
}

// Reads a whole small file; null when it changed size under us.
static std::shared_ptr<const std::string> read_whole(int fd, std::uint64_t size) {
    auto bytes = std::make_shared<std::string>(static_cast<std::size_t>(size), '\0');
    std::size_t got = 0;
    while (got < bytes->size()) {
        ssize_t n = ::pread(fd, bytes->data() + got, bytes->size() - got, static_cast<off_t>(got));
        if (n <= 0) return nullptr;
        got += static_cast<std::size_t>(n);
    }
    return bytes;
}

Lookup FileStore::open(const std::string& relative) const {
    Lookup out;
    if (relative.empty()) return out;
    if (auto cached = small_.find(root_fd_, relative)) return *cached;

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
    out.device = static_cast<std::uint64_t>(st.st_dev);
    if (out.size < cache_below_) {
        out.content = read_whole(fd, out.size);
        if (out.content) small_.store(relative, out);
    }
    return out;
}

}  // namespace modelhost::fs
