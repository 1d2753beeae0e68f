// The mirrors' store: its locks (the store lock, a fill lock per file), the uses and fills it records, eviction.
// Its index on disk, snapshot and journal, is store_index.cpp.
// Lock order: Store::store_lock_ (then the store lock on .mirror/lock) before Store::m_. A thread that holds m_ never
// waits for a file lock, so the request threads (which take only m_) never wait for another process.
#include "mirror/store.hpp"

#include "fs/durable.hpp"
#include "log/logging.hpp"
#include "mirror/store_records.hpp"

#include <stdexcept>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <system_error>
#include <thread>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::mirror {

namespace fsys = std::filesystem;
using namespace store_records;

namespace {

constexpr std::size_t no_prefix = static_cast<std::size_t>(-1);
constexpr std::uint64_t fill_lock_span = std::uint64_t{1} << 40;  // fill locks live at bytes 1 .. 2^40 of the lock file

// An open-file-description lock on one byte: held by this descriptor, released by closing it (fcntl(2)).
bool lock_byte(int fd, std::uint64_t at, bool wait) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(at);
    fl.l_len = 1;
    while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0)
        if (errno != EINTR) return false;
    return true;
}

void unlock_byte(int fd, std::uint64_t at) {
    struct flock fl {};
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(at);
    fl.l_len = 1;
    ::fcntl(fd, F_OFD_SETLK, &fl);
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

}  // namespace

// Holds the store lock: this thread alone in this process, and this process alone among those sharing the root.
class Store::Locked {
public:
    explicit Locked(Store& s) : s_(s), g_(s.store_lock_) {
        if (lock_byte(s_.lock_fd_, 0, true)) return;
        if (errno != EINVAL && errno != ENOLCK && errno != EOPNOTSUPP) fail("cannot lock", s_.dir_ / "lock");
        static std::once_flag said;  // a file system without byte-range locks: one process per root is safe there
        std::call_once(said, [&] {
            log::warn("mirror: {} cannot be locked ({}); only one modelhost process may use this root",
                         (s_.dir_ / "lock").string(), std::strerror(errno));
        });
    }
    ~Locked() { unlock_byte(s_.lock_fd_, 0); }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;

private:
    Store& s_;
    std::lock_guard<std::mutex> g_;
};

Store::FillLock::~FillLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

Store::Store(fsys::path root, std::vector<std::string> prefixes)
    : root_(std::move(root)), dir_(root_ / ".mirror"), prefixes_(std::move(prefixes)),
      totals_(prefixes_.size(), 0), lru_(prefixes_.size()) {
    fsys::create_directories(dir_ / "tmp");
    lock_fd_ = ::open((dir_ / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) fail("cannot open", dir_ / "lock");
    std::random_device random;
    tmp_name_ = std::to_string(::getpid()) + "-" + std::to_string(random()) + std::to_string(random());
    Locked l(*this);  // a starting process clears what dead ones left: the owner is made and locked before it looks
    owner_fd_ = ::open((dir_ / "tmp" / (tmp_name_ + ".owner")).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (owner_fd_ < 0) fail("cannot make", dir_ / "tmp" / (tmp_name_ + ".owner"));
    if (!lock_byte(owner_fd_, 0, false))
        log::warn("mirror: cannot lock {} ({}); only one modelhost process may use this root", (dir_ / "tmp").string(),
                     std::strerror(errno));
    fsys::create_directories(dir_ / "tmp" / tmp_name_);
    std::unique_lock g(m_);
    load_snapshot();
    if (open_journal()) catch_up(true);
    for (auto it = files_.begin(); it != files_.end();) {  // what an unclean stop may have left short or gone
        struct stat st {};
        const auto path = it->first;
        const auto size = it->second.entry.size;
        ++it;
        if (::stat(file_of(path).c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == size) continue;
        if (::unlink(file_of(path).c_str()) == 0)
            log::warn("mirror: removed {}: it holds {} bytes, its record {}", path, st.st_size, size);
        erase(path);
    }
    clear_dead_transfers();
    compact(g);
}

void Store::close() {
    try {
        Locked l(*this);
        std::unique_lock g(m_);
        if (closed_) return;
        closed_ = true;
        catch_up(true);
        record_lines(pending_uses());
        compact(g);  // the index then lists exactly what is stored
    } catch (const std::exception& e) {
        log::warn("mirror: {}; the journal keeps what the index lacks", e.what());
    }
}

Store::~Store() {
    close();
    std::error_code ec;
    fsys::remove_all(dir_ / "tmp" / tmp_name_, ec);
    fsys::remove(dir_ / "tmp" / (tmp_name_ + ".owner"), ec);
    for (int fd : {journal_fd_, owner_fd_, lock_fd_})
        if (fd >= 0) ::close(fd);
}

fsys::path Store::file_of(const std::string& path) const { return root_ / fsys::path(path.substr(1)); }

std::size_t Store::prefix_of(const std::string& path) const {
    for (std::size_t i = 0; i < prefixes_.size(); ++i)
        if (path.starts_with(prefixes_[i])) return i;
    return no_prefix;
}

void Store::set(const std::string& path, Entry e) {
    erase(path);
    const auto prefix = prefix_of(path);
    if (prefix != no_prefix) {  // (a record no mirror of this process covers is kept for the processes that have one)
        totals_[prefix] += e.size;
        lru_[prefix].emplace(e.used, path);
    }
    files_.emplace(path, Stored{std::move(e), prefix});
}

void Store::erase(const std::string& path) {
    auto it = files_.find(path);
    if (it == files_.end()) return;
    if (it->second.prefix != no_prefix) {
        totals_[it->second.prefix] -= it->second.entry.size;
        lru_[it->second.prefix].erase({it->second.entry.used, path});
    }
    files_.erase(it);
}

std::string Store::pending_uses() {
    std::string lines;
    for (const auto& [path, t] : uses_)
        if (files_.contains(path)) lines += nlohmann::json{{"use", path}, {"t", seconds(t)}}.dump() + "\n";
    uses_.clear();
    flushed_ = std::chrono::steady_clock::now();
    return lines;
}

std::optional<Entry> Store::use(const std::string& path) {
    const auto now = std::chrono::steady_clock::now();
    std::unique_lock g(m_);
    if (now - caught_up_ >= catch_up_every) catch_up(false);
    auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    Entry e = it->second.entry;
    e.used = Clock::now();
    set(path, e);
    uses_[path] = e.used;
    // Hits reach the journal in batches, and only when the store lock is free at once: a request never waits for it.
    if (now - flushed_ >= flush_uses_every && store_lock_.try_lock()) {
        std::lock_guard own(store_lock_, std::adopt_lock);
        struct stat st {};
        if (lock_byte(lock_fd_, 0, false)) {
            if (journal_current(st, false)) append(pending_uses());  // (not to a journal compacted away)
            unlock_byte(lock_fd_, 0);
        }
    }
    return e;
}

bool Store::forget_if_gone(const std::string& path) {
    std::lock_guard g(m_);
    struct stat st {};
    if (::stat(file_of(path).c_str(), &st) == 0) return false;
    erase(path);  // (when the record was already gone, the lookup found it through another process's install)
    return true;
}

fsys::path Store::temporary() {
    std::lock_guard g(m_);
    return dir_ / "tmp" / tmp_name_ / std::to_string(next_tmp_++);
}

std::optional<Store::FillLock> Store::lock_fill(const std::string& path, std::chrono::steady_clock::time_point deadline) {
    int fd = ::open((dir_ / "lock").c_str(), O_RDWR | O_CLOEXEC);  // its own description: its own lock
    if (fd < 0) fail("cannot open", dir_ / "lock");
    const std::uint64_t at = 1 + fnv1a(path) % fill_lock_span;
    for (;;) {
        if (lock_byte(fd, at, false)) break;
        if (errno != EAGAIN && errno != EACCES) {  // a file system without byte-range locks: single flight per process
            log::warn("mirror: cannot lock {} ({}); fills are single-flight only within this process",
                         (dir_ / "lock").string(), std::strerror(errno));
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::close(fd);
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard g(m_);
    catch_up(false);  // what the process that held it stored
    return FillLock(fd, at);
}

void Store::checked(const std::string& path) {
    Locked l(*this);
    std::lock_guard g(m_);
    catch_up(true);
    auto it = files_.find(path);
    if (it == files_.end()) return;
    it->second.entry.checked = Clock::now();
    record_lines(nlohmann::json{{"check", path}, {"t", seconds(it->second.entry.checked)}}.dump() + "\n");
}

std::vector<std::string> Store::stored_under(const std::string& folder) {
    std::lock_guard g(m_);
    std::vector<std::string> out;
    for (auto it = files_.lower_bound(folder); it != files_.end() && it->first.starts_with(folder); ++it)
        out.push_back(it->first);
    return out;
}

void Store::install(const std::string& path, const fsys::path& tmp, Entry e, std::uint64_t max_bytes,
                    const std::vector<std::string>& drop) {
    Locked l(*this);
    if (closed_) throw std::runtime_error("the server is stopping: " + path + " is not installed");
    std::unique_lock g(m_);
    catch_up(true);  // every process's installs and evictions so far
    // The records first, then the files: a crash between leaves a record whose file is gone (dropped at the next
    // start), never a file nobody records (which would never be evicted or revalidated).
    std::string lines;
    for (const auto& d : drop)
        if (files_.contains(d)) lines += nlohmann::json{{"del", d}}.dump() + "\n";
    auto put = record(e);
    put["put"] = path;
    lines += put.dump() + "\n";
    // Unrecorded, the file would be a file nobody records: it is not installed (the fill fails, and is made again).
    if (!record_lines(lines)) fail("cannot record " + path + " in the journal of", dir_);
    for (const auto& d : drop) {
        if (!files_.contains(d)) continue;
        ::unlink(file_of(d).c_str());
        erase(d);
    }
    if (::rename(tmp.c_str(), file_of(path).c_str()) != 0) {
        const int error = errno;
        record_lines(nlohmann::json{{"del", path}}.dump() + "\n");
        errno = error;
        fail("cannot rename into place", file_of(path));
    }
    set(path, std::move(e));
    std::string after;
    if (auto prefix = prefix_of(path); prefix != no_prefix) after += evict(prefix, max_bytes, path);
    record_lines(after + pending_uses());
    if (lines_ < std::max<std::uint64_t>(min_compaction, 2 * files_.size())) return;
    try {
        compact(g);
    } catch (const std::exception& x) {  // the file is installed and recorded: only the snapshot waits
        log::warn("mirror: {}; the journal keeps growing until a compaction succeeds", x.what());
    }
}

// Appends lines under the store lock after a catch-up, so they follow what was read.
bool Store::record_lines(const std::string& lines) {
    if (!append(lines)) return false;
    offset_ += lines.size();
    lines_ += static_cast<std::uint64_t>(std::count(lines.begin(), lines.end(), '\n'));
    return true;
}

// Least recently used files of the mirror at `prefix` go (their `del` lines returned) until it holds at most
// `max_bytes`; `keep` stays. A file another process is sending stays readable to it (an unlinked file lives on while
// open, on local file systems); one it has not opened yet is filled again (Store::forget_if_gone).
std::string Store::evict(std::size_t prefix, std::uint64_t max_bytes, const std::string& keep) {
    std::string lines;
    if (max_bytes == 0) return lines;
    auto& by_use = lru_[prefix];
    for (auto it = by_use.begin(); it != by_use.end() && totals_[prefix] > max_bytes;) {
        const std::string victim = it->second;
        ++it;
        if (victim == keep) continue;
        ::unlink(file_of(victim).c_str());
        erase(victim);
        lines += nlohmann::json{{"del", victim}}.dump() + "\n";
        log::info("mirror: evicted {} ({} over max_bytes)", victim, prefixes_[prefix]);
    }
    return lines;
}

void Store::clear_dead_transfers() {
    std::error_code ec;
    for (const auto& e : fsys::directory_iterator(dir_ / "tmp", ec)) {
        const auto name = e.path().filename().string();
        if (name == tmp_name_ || name == tmp_name_ + ".owner" || name.ends_with(".owner")) continue;
        const fsys::path owner = e.path().string() + ".owner";
        if (int fd = ::open(owner.c_str(), O_RDWR | O_CLOEXEC); fd >= 0) {
            const bool gone = lock_byte(fd, 0, false);  // its process holds it while alive
            ::close(fd);
            if (!gone) continue;
            fsys::remove(owner, ec);
        }
        fsys::remove_all(e.path(), ec);  // (a folder, or a transfer of an earlier version)
    }
    for (const auto& e : fsys::directory_iterator(dir_ / "tmp", ec)) {  // owners whose folder was never made
        const auto name = e.path().filename().string();
        if (!name.ends_with(".owner") || name == tmp_name_ + ".owner") continue;
        const fsys::path folder = e.path().string().substr(0, e.path().string().size() - 6);
        if (fsys::exists(folder, ec)) continue;
        if (int fd = ::open(e.path().c_str(), O_RDWR | O_CLOEXEC); fd >= 0) {
            const bool gone = lock_byte(fd, 0, false);
            ::close(fd);
            if (gone) fsys::remove(e.path(), ec);
        }
    }
}

}  // namespace modelhost::mirror
