// The mirror store as two processes on one root see it: two Store objects on one folder hold separate lock
// descriptions, exactly as two processes would.
#include "catch.hpp"

#include "mirror/store.hpp"
#include "temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace modelhost;
using modelhost::test::TempDir;
namespace fsys = std::filesystem;

namespace {

// Stores `bytes` as `path` through `store`, the way a transfer does: a temporary file, then install.
void put(mirror::Store& store, const std::string& path, const std::string& bytes, std::uint64_t max_bytes = 0) {
    auto tmp = store.temporary();
    std::ofstream(tmp, std::ios::binary) << bytes;
    fsys::create_directories(store.file_of(path).parent_path());
    mirror::Entry e;
    e.size = bytes.size();
    e.checked = e.used = mirror::Clock::now();
    store.install(path, tmp, e, max_bytes, {});
}

nlohmann::json index_of(const TempDir& root) {
    std::ifstream in(root.path() / ".mirror/index.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str(), nullptr, false);
}

void let_lookups_catch_up() { std::this_thread::sleep_for(mirror::Store::catch_up_every + std::chrono::milliseconds(20)); }

}  // namespace

TEST_CASE("a file one process stores is known to another sharing the root", "[mirror][store]") {
    TempDir root;
    mirror::Store a(root.path(), {"/hub/"}), b(root.path(), {"/hub/"});
    put(a, "/hub/x.bin", "hello");
    let_lookups_catch_up();
    auto seen = b.use("/hub/x.bin");
    REQUIRE(seen);
    CHECK(seen->size == 5);
}

TEST_CASE("eviction counts the files every process stored, least recently used first", "[mirror][store]") {
    TempDir root;
    mirror::Store a(root.path(), {"/hub/"}), b(root.path(), {"/hub/"});
    put(a, "/hub/1.bin", std::string(100, '1'));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    put(b, "/hub/2.bin", std::string(100, '2'));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    put(a, "/hub/3.bin", std::string(100, '3'), 250);  // a's own view holds 200 bytes; with b's, 300
    CHECK_FALSE(fsys::exists(root.path() / "hub/1.bin"));
    CHECK(fsys::exists(root.path() / "hub/2.bin"));
    CHECK(fsys::exists(root.path() / "hub/3.bin"));
    let_lookups_catch_up();
    CHECK_FALSE(b.use("/hub/1.bin"));
}

TEST_CASE("a record whose file another process evicted is forgotten only once the file is gone", "[mirror][store]") {
    TempDir root;
    mirror::Store a(root.path(), {"/hub/"});
    put(a, "/hub/x.bin", "x");
    CHECK_FALSE(a.forget_if_gone("/hub/x.bin"));
    fsys::remove(root.path() / "hub/x.bin");
    CHECK(a.forget_if_gone("/hub/x.bin"));
    CHECK_FALSE(a.use("/hub/x.bin"));
}

TEST_CASE("the journal is compacted into index.json, and a process reading an old journal follows the new one", "[mirror][store]") {
    TempDir root;
    mirror::Store a(root.path(), {"/hub/"});
    mirror::Store b(root.path(), {"/hub/"});
    for (std::uint64_t i = 0; i < mirror::Store::min_compaction + 10; ++i) put(a, "/hub/f" + std::to_string(i % 50) + ".bin", "v");
    int journals = 0;
    for (const auto& e : fsys::directory_iterator(root.path() / ".mirror"))
        journals += e.path().filename().string().starts_with("journal.");
    CHECK(journals == 1);  // compacted at least once; the old journal removed
    let_lookups_catch_up();
    CHECK(b.use("/hub/f49.bin"));  // b's journal was compacted away: it loaded the snapshot
    put(b, "/hub/late.bin", "late");
    let_lookups_catch_up();
    CHECK(a.use("/hub/late.bin"));
}

TEST_CASE("a stored file whose size disagrees with its record is removed at start, not served", "[mirror][store]") {
    TempDir root;
    {
        mirror::Store a(root.path(), {"/hub/"});
        put(a, "/hub/short.bin", "0123456789");
        put(a, "/hub/good.bin", "ok");
    }
    root.write("hub/short.bin", "01234");  // cut short, as a power loss without the sync could leave it
    mirror::Store again(root.path(), {"/hub/"});
    CHECK_FALSE(fsys::exists(root.path() / "hub/short.bin"));
    CHECK_FALSE(again.use("/hub/short.bin"));
    CHECK(again.use("/hub/good.bin"));
    auto doc = index_of(root);
    REQUIRE(doc.contains("files"));
    CHECK(doc["files"].size() == 1);
}

TEST_CASE("a fill lock is held against another process until released", "[mirror][store]") {
    TempDir root;
    mirror::Store a(root.path(), {"/hub/"}), b(root.path(), {"/hub/"});
    auto soon = [] { return std::chrono::steady_clock::now() + std::chrono::milliseconds(50); };
    {
        auto held = a.lock_fill("/hub/x.bin", soon());
        REQUIRE(held);
        CHECK_FALSE(b.lock_fill("/hub/x.bin", soon()));
        CHECK(b.lock_fill("/hub/other.bin", soon()));
    }
    CHECK(b.lock_fill("/hub/x.bin", soon()));
}
