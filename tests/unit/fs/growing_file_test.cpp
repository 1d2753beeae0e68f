// A file still being written: readers are called back once it passes their offset, or fails; never twice, never lost.
#include "catch.hpp"

#include "fs/growing_file.hpp"

#include <atomic>
#include <thread>
#include <vector>

using modelhost::fs::GrowingFile;

TEST_CASE("a reader is called back once the file grows past its offset, at once when it already has", "[growing]") {
    GrowingFile f(nullptr, 100);
    int early = 0, late = 0, already = 0;
    f.when_beyond(10, [&] { ++early; });
    f.when_beyond(50, [&] { ++late; });
    CHECK(early + late == 0);
    f.grew(11);
    CHECK(early == 1);
    CHECK(late == 0);
    f.grew(50);  // not beyond 50 yet
    CHECK(late == 0);
    f.grew(500);  // capped at the promised size
    CHECK(late == 1);
    CHECK(f.available() == 100);
    f.when_beyond(99, [&] { ++already; });
    CHECK(already == 1);
    f.grew(100);
    CHECK(early == 1);  // each called once
}

TEST_CASE("a failed file wakes every reader, and later ones at once", "[growing]") {
    GrowingFile f(nullptr, 100);
    int woken = 0;
    f.when_beyond(0, [&] { ++woken; });
    f.when_beyond(90, [&] { ++woken; });
    f.fail();
    CHECK(woken == 2);
    CHECK(f.failed());
    f.when_beyond(95, [&] { ++woken; });
    CHECK(woken == 3);
}

TEST_CASE("readers racing a writer are never lost", "[growing]") {
    for (int round = 0; round < 50; ++round) {
        GrowingFile f(nullptr, 1000);
        std::atomic<int> woken{0};
        std::thread writer([&] {
            for (std::uint64_t n = 1; n <= 1000; ++n) f.grew(n);
        });
        for (std::uint64_t offset = 0; offset < 1000; offset += 10) f.when_beyond(offset, [&] { ++woken; });
        writer.join();
        CHECK(woken == 100);
    }
}
