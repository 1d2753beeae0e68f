// Coalesced folder syncs: every call returns only after a sync that began after it (so its rename is covered), and
// calls made together share syncs; a failed sync reaches the calls it covered.
#include "catch.hpp"

#include "fs/durable.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

using modelhost::fs::FolderSyncs;
namespace fsys = std::filesystem;

TEST_CASE("concurrent folder syncs share fsyncs, and each returns after one that started after its call", "[durable]") {
    std::atomic<int> syncs{0};
    std::atomic<std::uint64_t> clock{0};  // a tick per event
    std::vector<std::uint64_t> sync_starts(1000), sync_ends(1000);
    std::atomic<int> running{0};
    std::atomic<bool> overlapped{false};
    FolderSyncs folders([&](const fsys::path&) {
        if (running.fetch_add(1) != 0) overlapped = true;
        const int n = syncs.fetch_add(1);
        sync_starts[static_cast<std::size_t>(n)] = ++clock;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        sync_ends[static_cast<std::size_t>(n)] = ++clock;
        running.fetch_sub(1);
    });
    constexpr int threads = 16, calls = 20;
    std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> spans(threads);  // each call's start and end
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < calls; ++i) {
                const std::uint64_t start = ++clock;
                folders.sync("/models/m");
                spans[static_cast<std::size_t>(t)].emplace_back(start, ++clock);
            }
        });
    for (auto& t : pool) t.join();
    CHECK_FALSE(overlapped);  // one sync of a folder at a time
    CHECK(syncs < threads * calls / 2);  // shared
    CHECK(syncs > 0);
    // Each call saw a whole sync inside its span: begun after the call, ended before it returned.
    int uncovered = 0;
    for (const auto& per_thread : spans)
        for (const auto& [start, end] : per_thread) {
            bool covered = false;
            for (int n = 0; n < syncs && !covered; ++n)
                covered = sync_starts[static_cast<std::size_t>(n)] > start && sync_ends[static_cast<std::size_t>(n)] < end;
            if (!covered) ++uncovered;
        }
    CHECK(uncovered == 0);
}

TEST_CASE("a failed folder sync is thrown to the calls it covered, and the next call syncs again", "[durable]") {
    bool fail = true;
    int syncs = 0;
    FolderSyncs folders([&](const fsys::path& p) {
        ++syncs;
        if (fail) throw std::system_error(EIO, std::generic_category(), "cannot sync " + p.string());
    });
    CHECK_THROWS_WITH(folders.sync("/models/m"), Catch::Contains("cannot sync /models/m"));
    fail = false;
    CHECK_NOTHROW(folders.sync("/models/m"));
    CHECK(syncs == 2);
    CHECK_NOTHROW(folders.sync("/models/other"));  // each folder its own
    CHECK(syncs == 3);
}
