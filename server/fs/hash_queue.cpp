// One worker thread, started with the first job; the lock is never held while a file is read.
#include "fs/hash_queue.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::fs {

namespace {

// The hash of the file's bytes while it is the version asked for; "" when it cannot be read or differs.
std::string hash_of(const HashQueue::Job& job, const std::atomic<bool>& stop) {
    const int fd = ::open(job.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return {};
    struct stat st {};
    std::optional<std::string> hex;
    if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) == job.size &&
        static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(st.st_mtim.tv_nsec) == job.mtime_ns)
        hex = job.git_blob ? git_blob_id(fd, job.size, &stop) : digest_file(Digest::sha256, fd, 0, job.size, {}, &stop);
    ::close(fd);
    return hex.value_or(std::string());
}

}  // namespace

HashQueue::~HashQueue() {
    std::vector<std::function<void()>> resume;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& w : waiters_) resume.push_back(std::move(w.resume));
        waiters_.clear();
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    for (auto& r : resume) r();  // (a reload replaced this index: they ask again, of the new one)
}

std::optional<std::string> HashQueue::find_or_queue(const Job& job) {
    std::lock_guard lock(mutex_);
    if (auto it = known_.find(job.key); it != known_.end()) return it->second;
    if (stopping_ || !queued_.insert(job.key).second) return std::nullopt;
    queue_.push_back(job);
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    wake_.notify_one();
    return std::nullopt;
}

void HashQueue::when_known(std::vector<std::string> keys, std::function<void()> resume) {
    std::unique_lock lock(mutex_);
    if (closed_) return;
    Waiter w{{}, std::move(resume)};
    for (auto& k : keys)
        if (!known_.count(k)) w.pending.insert(std::move(k));
    if (w.pending.empty() || stopping_) {
        lock.unlock();
        return w.resume();
    }
    waiters_.push_back(std::move(w));
}

void HashQueue::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    waiters_.clear();
}

// Records one hash and takes out the waiters it completes; when the memory is full, everything is forgotten and
// every waiter is resumed (it asks again).
std::vector<std::function<void()>> HashQueue::settle(const std::string& key, std::string hex) {
    std::vector<std::function<void()>> done;
    queued_.erase(key);
    if (known_.size() >= max_known) {
        known_.clear();
        for (auto& w : waiters_) done.push_back(std::move(w.resume));
        waiters_.clear();
    }
    known_[key] = std::move(hex);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        it->pending.erase(key);
        if (!it->pending.empty()) {
            ++it;
            continue;
        }
        done.push_back(std::move(it->resume));
        it = waiters_.erase(it);
    }
    return done;
}

void HashQueue::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        std::string hex = hash_of(job, stopping_);
        lock.lock();
        if (stopping_) return;
        auto done = settle(job.key, std::move(hex));
        lock.unlock();
        for (auto& resume : done) resume();  // (outside the lock: a resume may ask for hashes)
        lock.lock();
    }
}

}  // namespace modelhost::fs
