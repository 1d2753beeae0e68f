// Files hashed on a thread of their own, each version once, for the requests that need the hashes: a request never
// reads a file to hash it (a 10 GB file would hold its I/O thread for seconds); it takes what is known, and may ask
// to be resumed once the rest is.
#pragma once

#include "fs/digest.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace modelhost::fs {

class HashQueue {
public:
    static constexpr std::size_t max_known = 200000;  // hashes remembered (then forgotten all at once, waiters resumed)

    // One file version to hash: the bytes of `path` while it has `size` bytes and that mtime; `git_blob`: git's blob
    // id (SHA-1 of "blob SIZE\0" + the bytes) instead of the SHA-256.
    struct Job {
        std::string key;  // names the file version and the hash, for find and when_known
        std::filesystem::path path;
        std::uint64_t size = 0;
        std::uint64_t mtime_ns = 0;
        bool git_blob = false;
    };

    HashQueue() = default;
    // Stops at the next block of the file being read (its thread is joined), and resumes every waiter still there.
    ~HashQueue();
    HashQueue(const HashQueue&) = delete;
    HashQueue& operator=(const HashQueue&) = delete;

    // The hash when known: hex, or "" when the file could not be read or had changed; nullopt while it is not known,
    // and then it is queued (once).
    std::optional<std::string> find_or_queue(const Job& job);
    // Runs `resume` once (on the queue's thread) when every key is known, or at once (here) when they already are.
    void when_known(std::vector<std::string> keys, std::function<void()> resume);
    // Drops every waiter without running it (the server stops: the connections they hold go while their event loops
    // still exist); none is registered any more.
    void close();

private:
    struct Waiter {
        std::set<std::string> pending;
        std::function<void()> resume;
    };
    void run();
    std::vector<std::function<void()>> settle(const std::string& key, std::string hex);  // with mutex_ held

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    std::set<std::string> queued_;
    std::map<std::string, std::string> known_;
    std::vector<Waiter> waiters_;
    bool closed_ = false;
    std::atomic<bool> stopping_{false};
    std::thread worker_;  // started with the first job
};

}  // namespace modelhost::fs
