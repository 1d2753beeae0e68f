// The store's index on disk (docs/STORE.md): a snapshot of every stored file's record and the journal of lines
// appended since, read by every process sharing the root, caught up before each decision and compacted into a new
// snapshot when it has grown. The locks, uses, fills and eviction that write it are in store.cpp.
#include "mirror/store.hpp"

#include "fs/durable.hpp"
#include "log/logging.hpp"
#include "mirror/store_records.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::mirror {

namespace fsys = std::filesystem;
using namespace store_records;

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
        log::warn("mirror: cut a torn line off the end of {}", (dir_ / ("journal." + std::to_string(journal_))).string());
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
            log::warn("mirror: cannot append to {}: {}{}", (dir_ / ("journal." + std::to_string(journal_))).string(),
                         std::strerror(error), fs::advice(error));
            if (::ftruncate(journal_fd_, st.st_size) != 0) {}  // best effort: a torn line is skipped anyway
            errno = error;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
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

}  // namespace modelhost::mirror
