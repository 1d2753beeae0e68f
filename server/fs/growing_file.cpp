#include "fs/growing_file.hpp"

#include <algorithm>

namespace modelhost::fs {

void GrowingFile::grew(std::uint64_t available) const {
    available_.store(std::min(available, size_), std::memory_order_release);
    wake();
}

void GrowingFile::fail() const {
    failed_.store(true, std::memory_order_release);
    wake();
}

// Runs every waiter whose offset the file has passed (all of them once it failed).
void GrowingFile::wake() const {
    std::lock_guard g(lock_);
    const std::uint64_t now = available();
    const bool gone = failed();
    auto keep = std::partition(waiting_.begin(), waiting_.end(), [&](const auto& w) { return !gone && w.first >= now; });
    for (auto it = keep; it != waiting_.end(); ++it) it->second();
    waiting_.erase(keep, waiting_.end());
}

void GrowingFile::when_beyond(std::uint64_t offset, std::function<void()> ready) const {
    std::lock_guard g(lock_);
    if (closed_) return;
    if (available() <= offset && !failed()) {
        waiting_.emplace_back(offset, std::move(ready));
        return;
    }
    ready();
}

void GrowingFile::close() const {
    std::lock_guard g(lock_);
    closed_ = true;
    waiting_.clear();
}

}  // namespace modelhost::fs
