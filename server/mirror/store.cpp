// Lock order: Store::store_lock_ (then the store lock on .mirror/lock) before Store::m_. A thread that holds m_ never
// waits for a file lock, so the request threads (which take only m_) never wait for another process.
#include "mirror/store.hpp"

#include "fs/durable.hpp"

#include <stdexcept>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

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

namespace {

constexpr std::size_t no_prefix = static_cast<std::size_t>(-1);
constexpr std::uint64_t fill_lock_span = std::uint64_t{1} << 40;  // fill locks live at bytes 1 .. 2^40 of the lock file

[[noreturn]] void fail(const std::string& what, const fsys::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

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

double seconds(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

Clock::time_point from_seconds(double s) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
}

// A record's fields, from a file under the root like any other: a field of another type counts as absent.
std::string text(const nlohmann::json& v, const char* key) {
    auto it = v.find(key);
    return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}
double number(const nlohmann::json& v, const char* key) {
    auto it = v.find(key);
    return it != v.end() && it->is_number() ? it->get<double>() : 0.0;
}

nlohmann::json record(const Entry& e) {
    return {{"etag", e.etag}, {"last_modified", e.last_modified}, {"checked", seconds(e.checked)},
            {"used", seconds(e.used)}, {"size", e.size}};
}

// A record as read; `sized` false when it names no size (an index written by hand, or garbled).
Entry entry_of(const nlohmann::json& v, bool& sized) {
    Entry e;
    e.etag = text(v, "etag");
    e.last_modified = text(v, "last_modified");
    e.checked = from_seconds(number(v, "checked"));
    e.used = from_seconds(number(v, "used"));
    auto size = v.find("size");
    sized = size != v.end() && size->is_number_unsigned();
    e.size = sized ? size->get<std::uint64_t>() : 0;
    return e;
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
            spdlog::warn("mirror: {} cannot be locked ({}); only one modelhost process may use this root",
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
        spdlog::warn("mirror: cannot lock {} ({}); only one modelhost process may use this root", (dir_ / "tmp").string(),
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
            spdlog::warn("mirror: removed {}: it holds {} bytes, its record {}", path, st.st_size, size);
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
        spdlog::warn("mirror: {}; the journal keeps what the index lacks", e.what());
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

// The snapshot: {"journal": N, "files": {...}}; an index of earlier versions is a bare {"path": record} object.
void Store::load_snapshot() {
    files_.clear();
    std::fill(totals_.begin(), totals_.end(), 0);
    for (auto& l : lru_) l.clear();
    journal_ = 0;
    std::error_code ec;
    std::string bytes;
    if (int fd = ::open((dir_ / "index.json").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        char buf[65536];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) bytes.append(buf, static_cast<std::size_t>(n));
        ::close(fd);
    }
    auto doc = nlohmann::json::parse(bytes, nullptr, false);
    struct stat st {};
    index_inode_ = ::stat((dir_ / "index.json").c_str(), &st) == 0 ? st.st_ino : 0;
    if (!doc.is_object()) return;  // none yet, or unreadable: files stored before are served, and checked when due
    const nlohmann::json* files = &doc;
    if (auto f = doc.find("files"); f != doc.end() && f->is_object()) {
        files = &*f;
        journal_ = static_cast<std::uint64_t>(number(doc, "journal"));
    }
    for (auto it = files->begin(); it != files->end(); ++it) {
        if (!it.value().is_object()) continue;
        bool sized = false;
        Entry e = entry_of(it.value(), sized);
        if (!sized) e.size = fsys::file_size(file_of(it.key()), ec);  // unknown: whatever is there
        if (!ec) set(it.key(), e);
    }
}

// Opens journal.N of the snapshot loaded; false when there is none (it is made by the next compaction).
bool Store::open_journal() {
    if (journal_fd_ >= 0) ::close(journal_fd_);
    journal_fd_ = ::open((dir_ / ("journal." + std::to_string(journal_))).c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    offset_ = 0;
    lines_ = 0;
    return journal_fd_ >= 0;
}

// True when the journal this process reads is still the one the root's `journal.N` names: another process's
// compaction replaces it (and a crash of one may leave it linked but no longer current, which the snapshot's number
// tells: checked under the lock).
bool Store::journal_current(struct stat& st, bool locked) {
    struct stat named {};
    if (journal_fd_ < 0 || ::fstat(journal_fd_, &st) != 0 || st.st_nlink == 0) return false;
    if (::stat((dir_ / ("journal." + std::to_string(journal_))).c_str(), &named) != 0) return false;
    if (named.st_ino != st.st_ino || named.st_dev != st.st_dev) return false;
    if (!locked) return true;
    struct stat index {};
    return ::stat((dir_ / "index.json").c_str(), &index) != 0 || index.st_ino == index_inode_;
}

// Applies what other processes appended since the last look. A journal another process has compacted away means a
// new snapshot: it is loaded and its journal read from the start. A journal shorter than what was read (an append
// cut back after a failure) is read again from the start. Under the store lock (`locked`), no writer is mid-line,
// so a tail without its newline is what a crash left: it is cut off, and the next append starts a line.
void Store::catch_up(bool locked) {
    caught_up_ = std::chrono::steady_clock::now();
    struct stat st {};
    for (int tries = 0; !journal_current(st, locked); ++tries) {
        if (tries == 3) return;  // compacted again meanwhile: the next look tries again
        load_snapshot();
        if (!open_journal()) return;
    }
    if (static_cast<std::uint64_t>(st.st_size) < offset_) {
        load_snapshot();
        if (!open_journal() || ::fstat(journal_fd_, &st) != 0) return;
    }
    if (static_cast<std::uint64_t>(st.st_size) <= offset_) return;
    std::string bytes(static_cast<std::size_t>(st.st_size) - offset_, '\0');
    ssize_t n = ::pread(journal_fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset_));
    if (n <= 0) return;
    bytes.resize(static_cast<std::size_t>(n));
    const auto end = bytes.rfind('\n');  // a line still being written waits for the next look
    for (std::size_t at = 0; end != std::string::npos && at <= end;) {
        auto next = bytes.find('\n', at);
        apply(bytes.substr(at, next - at));
        ++lines_;
        at = next + 1;
    }
    if (end != std::string::npos) offset_ += end + 1;
    if (locked && offset_ < static_cast<std::uint64_t>(st.st_size) && ::ftruncate(journal_fd_, static_cast<off_t>(offset_)) == 0)
        spdlog::warn("mirror: cut a torn line off the end of {}", (dir_ / ("journal." + std::to_string(journal_))).string());
}

void Store::apply(const std::string& line) {
    auto v = nlohmann::json::parse(line, nullptr, false);
    if (!v.is_object()) return;  // torn or garbled: skipped
    if (auto p = text(v, "put"); !p.empty()) {
        bool sized = false;
        Entry e = entry_of(v, sized);
        if (sized) set(p, e);
    } else if (auto d = text(v, "del"); !d.empty()) {
        erase(d);
    } else if (auto u = text(v, "use"); !u.empty()) {
        auto it = files_.find(u);
        auto t = from_seconds(number(v, "t"));
        if (it == files_.end() || t <= it->second.entry.used) return;
        Entry e = it->second.entry;
        e.used = t;
        set(u, e);
    } else if (auto c = text(v, "check"); !c.empty()) {
        if (auto it = files_.find(c); it != files_.end()) it->second.entry.checked = from_seconds(number(v, "t"));
    }
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

// Appends whole lines at the journal's end; a failed write is cut off again, so no torn line is left behind. False
// when nothing was appended.
bool Store::append(const std::string& lines) {
    if (lines.empty()) return false;
    if (journal_fd_ < 0) return errno = EBADF, false;  // the journal could not be opened again after a compaction
    struct stat st {};
    if (::fstat(journal_fd_, &st) != 0) return false;
    std::size_t done = 0;
    while (done < lines.size()) {
        ssize_t n = ::write(journal_fd_, lines.data() + done, lines.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : ENOSPC;
            spdlog::warn("mirror: cannot append to {}: {}{}", (dir_ / ("journal." + std::to_string(journal_))).string(),
                         std::strerror(error), fs::advice(error));
            if (::ftruncate(journal_fd_, st.st_size) != 0) {}  // best effort: a torn line is skipped anyway
            errno = error;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
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
            spdlog::warn("mirror: cannot lock {} ({}); fills are single-flight only within this process",
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
        spdlog::warn("mirror: {}; the journal keeps growing until a compaction succeeds", x.what());
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
        spdlog::info("mirror: evicted {} ({} over max_bytes)", victim, prefixes_[prefix]);
    }
    return lines;
}

// Writes the whole view as the snapshot of a new, empty journal, and removes every other journal (which tells the
// other processes to load the snapshot). Amortised O(1) per line: it runs when the journal has twice as many lines
// as there are files (and at least min_compaction). Under the store lock, with `g` holding m_: m_ is released while
// the snapshot is written and synced, so this process's lookups go on meanwhile.
void Store::compact(std::unique_lock<std::mutex>& g) {
    const std::uint64_t next = journal_ + 1;
    const fsys::path new_journal = dir_ / ("journal." + std::to_string(next));
    auto files = nlohmann::json::object();
    for (const auto& [path, s] : files_) files[path] = record(s.entry);
    const std::string snapshot = nlohmann::json{{"journal", next}, {"files", files}}.dump();
    g.unlock();
    int fd = ::open(new_journal.c_str(), O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        g.lock();
        fail("cannot make", new_journal);
    }
    try {
        fs::write_atomically(dir_ / "index.json", snapshot);
    } catch (...) {
        ::close(fd);
        ::unlink(new_journal.c_str());
        g.lock();
        throw;
    }
    std::error_code ec;
    for (const auto& e : fsys::directory_iterator(dir_, ec))
        if (auto name = e.path().filename().string(); name.starts_with("journal.") && e.path() != new_journal)
            fsys::remove(e.path(), ec);
    g.lock();
    if (journal_fd_ >= 0) ::close(journal_fd_);
    journal_fd_ = fd;
    journal_ = next;
    offset_ = 0;
    lines_ = 0;
    struct stat st {};
    index_inode_ = ::stat((dir_ / "index.json").c_str(), &st) == 0 ? st.st_ino : 0;
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
