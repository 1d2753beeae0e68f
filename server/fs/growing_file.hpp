// A file another thread is still writing (a mirror's upstream transfer): responses read what is there and ask to be
// called back when more is, so the first clients get the bytes while they arrive.
#pragma once

#include "fs/open_file.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace modelhost::fs {

class GrowingFile {
public:
    // `file`: a descriptor open for reading; `size`: the length the writer promised.
    GrowingFile(std::shared_ptr<const OpenFile> file, std::uint64_t size) : file_(std::move(file)), size_(size) {}

    const std::shared_ptr<const OpenFile>& file() const { return file_; }
    std::uint64_t size() const { return size_; }
    // Bytes readable from the start (size() once whole); and whether the writer gave up (the bytes will never come).
    std::uint64_t available() const { return available_.load(std::memory_order_acquire); }
    bool failed() const { return failed_.load(std::memory_order_acquire); }

    // The writer's side: more bytes are in the file (at most size()), or none will come. Both wake the readers.
    void grew(std::uint64_t available) const;
    void fail() const;

    // Runs `ready` once when more than `offset` bytes are available or the writer failed: at once, on this thread,
    // when that holds already; else later, on the writer's thread. Callbacks run under the file's lock, so after
    // close() none runs any more (and those waiting are dropped): the server closes it before its event loop ends.
    void when_beyond(std::uint64_t offset, std::function<void()> ready) const;
    void close() const;

private:
    void wake() const;

    std::shared_ptr<const OpenFile> file_;
    std::uint64_t size_;
    mutable std::atomic<std::uint64_t> available_{0};
    mutable std::atomic<bool> failed_{false};
    mutable bool closed_ = false;  // under lock_
    mutable std::mutex lock_;
    mutable std::vector<std::pair<std::uint64_t, std::function<void()>>> waiting_;
};

}  // namespace modelhost::fs
