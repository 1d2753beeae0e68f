// Race-free lookups below the root with openat2(RESOLVE_BENEATH); a no-symlink walk where the kernel lacks it.
#include "fs/file_store.hpp"

#include "metrics/metrics.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

namespace modelhost::fs {

OpenFile::~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
}

FileStore::FileStore(const std::string& root, std::uint64_t cache_below)
    : FileStore(std::vector<Mount>{{"/", root, nullptr}}, cache_below) {}

FileStore::FileStore(const std::vector<Mount>& mounts, std::uint64_t cache_below)
    : cache_below_(std::min(cache_below, LookupCache::largest_file + 1)) {
    for (const auto& m : mounts) {
        Mounted& to = mounts_.emplace_back();
        to.prefix = m.prefix.substr(1);  // "/models/" -> "models/"
        to.files = m.files;
        if (m.files) {
            find_backing(to);
            continue;
        }
        const int fd = ::open(m.folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open root \"" + m.folder + "\"");
        to.folder = std::make_unique<Folder>(fd);  // (the folders opened before close with mounts_ if a later one throws)
    }
}

FileStore::~FileStore() = default;

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

int open_beneath(int root_fd, const std::string& relative) {
    static std::atomic<bool> have_openat2{true};
    if (have_openat2.load(std::memory_order_relaxed)) {
        open_how how{};
        how.flags = open_flags;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long fd;
        do {
            fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how);
        } while (fd < 0 && errno == EAGAIN);
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<int>(fd);
        have_openat2.store(false, std::memory_order_relaxed);  // seccomp or an old kernel: every later lookup uses the walk
    }
    return open_no_symlinks(root_fd, relative);
}

}  // namespace

// Following symlinks here is safe: only the very inode that was opened beneath the root can match a found entry,
// and an entry that was not there is looked up afresh (beneath the root) as soon as a regular file answers.
bool LookupCache::still_valid(int root_fd, const std::string& relative, const Lookup& e) const {
    struct stat st {};
    bool exists = ::fstatat(root_fd, relative.c_str(), &st, 0) == 0;
    if (e.result == Lookup::Result::not_found) return !exists || !S_ISREG(st.st_mode);
    return exists && static_cast<std::uint64_t>(st.st_ino) == e.inode && static_cast<std::uint64_t>(st.st_dev) == e.device &&
           static_cast<std::uint64_t>(st.st_size) == e.size && st.st_mtim.tv_sec == e.mtime.tv_sec &&
           st.st_mtim.tv_nsec == e.mtime.tv_nsec;
}

namespace {

// Pass beginnings and checks take their numbers from here: a check numbered above a pass's began after it.
std::atomic<std::uint64_t> moments{0};
std::uint64_t next_moment() { return moments.fetch_add(1, std::memory_order_acq_rel) + 1; }

// The number the calling thread's pass began with (0: it begins at the next lookup). A property of the thread's event
// loop, shared by every FileStore (a reload makes a new one mid-pass).
thread_local std::uint64_t this_pass_began = 0;

}  // namespace

std::optional<Lookup> LookupCache::find(int root_fd, std::string_view relative, std::uint64_t pass_began, bool& checked) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(relative);
    if (it == entries_.end()) return std::nullopt;
    const Entry& e = it->second;
    if (e.checked_at.load(std::memory_order_acquire) <= pass_began) {
        const std::uint64_t now = next_moment();  // numbered before the stat: the check is no older than its number
        if (!still_valid(root_fd, it->first, e.lookup)) return std::nullopt;
        e.checked_at.store(now, std::memory_order_release);  // (a racing older number only makes it checked sooner)
        checked = true;
    }
    return e.lookup;
}

// Simple bounds: when one kind of entry is full, the cache starts over (in-flight responses keep what they hold).
void LookupCache::make_room(const Lookup& incoming) {
    bool full = incoming.content ? bytes_ + incoming.size > capacity_bytes
                : incoming.file  ? descriptors_ + 1 > max_descriptors
                                 : missing_ + 1 > max_missing;
    if (!full) return;
    entries_.clear();
    bytes_ = 0;
    descriptors_ = missing_ = 0;
}

void LookupCache::store(std::string_view relative, const Lookup& found, std::uint64_t checked_at) {
    std::unique_lock lock(mutex_);
    auto account = [this](const Lookup& l, int sign) {
        if (l.content) bytes_ = sign > 0 ? bytes_ + l.size : bytes_ - l.size;
        else if (l.file) descriptors_ = sign > 0 ? descriptors_ + 1 : descriptors_ - 1;
        else missing_ = sign > 0 ? missing_ + 1 : missing_ - 1;
    };
    if (auto it = entries_.find(relative); it != entries_.end()) {
        account(it->second.lookup, -1);
        entries_.erase(it);
    }
    make_room(found);
    Entry& e = entries_.try_emplace(std::string(relative)).first->second;
    e.lookup = found;
    e.checked_at.store(checked_at, std::memory_order_release);
    account(found, +1);
}

void LookupCache::forget(std::string_view relative) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(relative);
    if (it == entries_.end()) return;
    const Lookup& l = it->second.lookup;
    if (l.content) bytes_ -= l.size;
    else if (l.file) --descriptors_;
    else --missing_;
    entries_.erase(it);
}

// Reads a whole small file (or a larger one's first `size` bytes); null when it is shorter than that now.
static Bytes read_whole(int fd, std::uint64_t size) {
    auto bytes = std::make_shared<std::string>(static_cast<std::size_t>(size), '\0');
    std::size_t got = 0;
    while (got < bytes->size()) {
        ssize_t n = ::pread(fd, bytes->data() + got, bytes->size() - got, static_cast<off_t>(got));
        if (n <= 0) return nullptr;
        got += static_cast<std::size_t>(n);
    }
    return bytes_of(std::move(bytes));
}

Lookup FileStore::open_afresh(const Folder& folder, std::string_view relative) const {
    Lookup out;
    int fd = open_beneath(folder.dir.fd(), std::string(relative));
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
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.mtime = st.st_mtim;
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    out.device = static_cast<std::uint64_t>(st.st_dev);
    if (out.size < cache_below_) out.content = read_whole(fd, out.size);  // the cache then holds bytes, not descriptors
    if (!out.content) {
        out.file = std::move(file);
        out.head_size = std::min(out.size, Lookup::head_bytes);
        if (out.head_size > 0 && !(out.head = read_whole(fd, out.head_size))) out.head_size = 0;  // shrank: no head
    }
    return out;
}

namespace {

// One file-backed, readable mapping of /proc/self/maps.
struct Mapping {
    std::uintptr_t start = 0, end = 0;
    std::uint64_t offset = 0;
    unsigned major = 0, minor = 0;
    std::uint64_t inode = 0;
    std::string path;
};

std::vector<Mapping> file_mappings() {
    std::vector<Mapping> out;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        Mapping m;
        char perms[5] = {};
        unsigned long long start = 0, end = 0, offset = 0, inode = 0;
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &offset, &m.major,
                        &m.minor, &inode, &path_at) < 7 || perms[0] != 'r' || inode == 0 || path_at <= 0)
            continue;
        m.path = line.substr(static_cast<std::size_t>(path_at));
        if (m.path.empty() || m.path.front() != '/' || m.path.ends_with(" (deleted)")) continue;  // not a file to open
        m.start = static_cast<std::uintptr_t>(start);
        m.end = static_cast<std::uintptr_t>(end);
        m.offset = offset;
        m.inode = inode;
        out.push_back(std::move(m));
    }
    return out;
}

// The mapped file itself, when it is still the one mapped (same device and inode).
std::shared_ptr<const OpenFile> open_mapped(const Mapping& m) {
    int fd = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    auto file = std::make_shared<const OpenFile>(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_ino) != m.inode || st.st_dev != makedev(m.major, m.minor))
        return nullptr;
    return file;
}

// Whether the file holds `bytes` at `offset` (their first and last bytes: the mapping says it does; this checks it).
bool holds(const OpenFile& file, std::uint64_t offset, std::string_view bytes) {
    const std::size_t n = std::min<std::size_t>(bytes.size(), 256);
    std::string buf(n, '\0');
    for (std::uint64_t at : {offset, offset + bytes.size() - n}) {
        if (::pread(file.fd(), buf.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) return false;
        if (std::memcmp(buf.data(), bytes.data() + (at - offset), n) != 0) return false;
    }
    return true;
}

}  // namespace

// Large compiled-in files go by sendfile(2) from the file the program maps them from, as disk files do: its page-cache
// pages are the very ones mapped, so nothing is copied. A file not found in a file-backed mapping (a packed or deleted
// executable) is sent from memory.
void FileStore::find_backing(Mounted& m) const {
    const auto& files = m.files->files();
    if (std::none_of(files.begin(), files.end(), [&](const auto& f) { return f.bytes.size() >= cache_below_; })) return;
    const std::vector<Mapping> mappings = file_mappings();
    std::map<std::string, std::shared_ptr<const OpenFile>> opened;
    for (const auto& f : files) {
        if (f.bytes.size() < cache_below_ || f.bytes.empty()) continue;
        const auto first = reinterpret_cast<std::uintptr_t>(f.bytes.data());
        auto in = std::find_if(mappings.begin(), mappings.end(), [&](const Mapping& map) {
            return map.start <= first && first + f.bytes.size() <= map.end;
        });
        if (in == mappings.end()) continue;
        auto [at, added] = opened.try_emplace(in->path);
        if (added) at->second = open_mapped(*in);
        const std::uint64_t offset = in->offset + (first - in->start);
        if (at->second && holds(*at->second, offset, f.bytes)) m.backed[&f] = {at->second, offset};
    }
}

namespace {

// A compiled-in file's facts: its bytes in place (or where they are in the program's file), its build-time mtime and
// hash. Its "inode" is its address, so the caches that key a version on the inode (heads, gzip) tell two tables'
// files apart.
Lookup embedded(const EmbeddedFile& f, const std::unordered_map<const EmbeddedFile*, FileStore::Backing>& backed) {
    Lookup out;
    out.result = Lookup::Result::found;
    if (auto b = backed.find(&f); b != backed.end()) {
        out.file = b->second.file;
        out.file_offset = b->second.offset;
    } else {
        out.content = bytes_of_static(f.bytes);
    }
    out.sha256 = f.sha256;
    out.size = f.bytes.size();
    out.mtime.tv_sec = static_cast<std::time_t>(f.mtime);
    out.inode = reinterpret_cast<std::uintptr_t>(&f);
    out.device = ~std::uint64_t{0};
    return out;
}

}  // namespace

Lookup FileStore::open(std::string_view relative) const {
    if (relative.empty()) return Lookup{};
    Lookup out;
    for (const auto& m : mounts_) {
        if (!relative.starts_with(m.prefix) || relative.size() == m.prefix.size()) continue;
        const std::string_view rest = relative.substr(m.prefix.size());
        if (m.files) {
            if (const EmbeddedFile* f = m.files->find(rest)) return embedded(*f, m.backed);
            continue;
        }
        out = open_in(*m.folder, rest);
        if (out.result != Lookup::Result::not_found) return out;  // found, or a failure that answers (503, 500)
    }
    return out;
}

std::vector<std::string> FileStore::list(std::string_view relative, std::size_t max_names) const {
    std::vector<std::string> names;
    for (const auto& m : mounts_) {
        const std::string_view folder = std::string_view(m.prefix).substr(0, m.prefix.empty() ? 0 : m.prefix.size() - 1);
        if (!m.folder || !(relative.starts_with(m.prefix) || relative == folder)) continue;
        const std::string_view inside = relative.substr(std::min(relative.size(), m.prefix.size()));
        const int fd = inside.empty() ? ::openat(m.folder->dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                      : open_beneath(m.folder->dir.fd(), std::string(inside));
        struct stat st {};
        if (fd < 0) continue;
        if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
            ::close(fd);
            continue;
        }
        DIR* dir = ::fdopendir(fd);  // (owns fd from here)
        if (!dir) {
            ::close(fd);
            continue;
        }
        while (const dirent* e = ::readdir(dir)) {
            if (names.size() >= max_names) break;
            if (e->d_name[0] != '.') names.emplace_back(e->d_name);
        }
        ::closedir(dir);
    }
    return names;
}

void FileStore::forget(std::string_view relative) const {
    for (const auto& m : mounts_)
        if (m.folder && relative.starts_with(m.prefix)) m.folder->cache.forget(relative.substr(m.prefix.size()));
}

Lookup FileStore::open_in(const Folder& folder, std::string_view relative) const {
    bool checked = false;
    if (auto cached = folder.cache.find(folder.dir.fd(), relative, pass_began(), checked)) {
        metrics::count(checked ? metrics::Event::file_checked : metrics::Event::file_remembered);
        return std::move(*cached);
    }
    metrics::count(metrics::Event::file_opened);
    const std::uint64_t opened_at = next_moment();
    Lookup out = open_afresh(folder, relative);
    // A small file that changed size while it was read is served from its descriptor this once, never remembered.
    const bool torn = out.result == Lookup::Result::found && !out.content && out.size < cache_below_;
    if ((out.result == Lookup::Result::found && !torn) || out.result == Lookup::Result::not_found) {
        folder.cache.store(relative, out, opened_at);
    }
    return out;
}

std::uint64_t FileStore::pass_began() const {
    if (!request_pass_end_) return next_moment();  // no event loop ends passes: every lookup is its own
    if (this_pass_began == 0) {
        const std::uint64_t began = next_moment();
        // A pass that trusts what was checked must end: on this thread's event loop, after the handlers already queued
        // there. A thread without one begins another pass at its next lookup.
        if (request_pass_end_()) this_pass_began = began;
        return began;
    }
    return this_pass_began;
}

void FileStore::set_pass_end(std::function<bool()> request_pass_end) { request_pass_end_ = std::move(request_pass_end); }

void FileStore::end_pass() const { this_pass_began = 0; }

}  // namespace modelhost::fs
