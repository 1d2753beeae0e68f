// The served folder: facts of files strictly beneath the root; small files from memory, never stale.
#include "catch.hpp"

#include "fs/file_store.hpp"
#include "temp_dir.hpp"

#include <array>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace modelhost::fs;
using modelhost::test::TempDir;

namespace {

// Replaces `name` by a rename, as publishing tools do: a new inode.
// A lookup's bytes in memory, as text.
std::string text(const Lookup& l) { return l.content ? std::string(l.content.get(), l.size) : std::string(); }

void replace_file(const TempDir& root, const std::string& name, const std::string& content) {
    root.write(name + ".tmp", content);
    std::filesystem::rename(root.path() / (name + ".tmp"), root.path() / name);
}

}  // namespace

TEST_CASE("a file beneath the root is found with its size, and a missing one is not", "[fs]") {
    TempDir root;
    root.write("m/model.json", "{\"a\":1}");
    FileStore store(root.path().string(), 16 * 1024);
    Lookup l = store.open("m/model.json");
    REQUIRE(l.result == Lookup::Result::found);
    CHECK(l.size == 7);
    CHECK(l.inode != 0);
    CHECK(store.open("m/none.json").result == Lookup::Result::not_found);
    CHECK(store.open("m").result == Lookup::Result::not_found);  // a directory is not a file
}

TEST_CASE("symlinks that leave the root are not followed, ones that stay inside are", "[fs]") {
    TempDir outside, root;
    outside.write("secret.txt", "secret");
    root.write("in/real.txt", "inside");
    std::filesystem::create_symlink(outside.path() / "secret.txt", root.path() / "in/escape.txt");
    std::filesystem::create_symlink("real.txt", root.path() / "in/alias.txt");
    FileStore store(root.path().string(), 0);
    CHECK(store.open("in/escape.txt").result == Lookup::Result::not_found);
    Lookup alias = store.open("in/alias.txt");
    REQUIRE(alias.result == Lookup::Result::found);
    CHECK(alias.size == 6);
}

TEST_CASE("small files come from memory and follow a replacement or a same-size rewrite", "[fs]") {
    TempDir root;
    root.write("a.json", "first");
    FileStore store(root.path().string(), 16 * 1024);
    Lookup one = store.open("a.json");
    REQUIRE(one.content);
    CHECK(text(one) == "first");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    root.write("a.json", "secnd");  // same size, new mtime
    Lookup two = store.open("a.json");
    REQUIRE(two.content);
    CHECK(text(two) == "secnd");
    std::filesystem::remove(root.path() / "a.json");
    root.write("a.json", "third, longer");  // a new inode
    CHECK(text(store.open("a.json")) == "third, longer");
}

TEST_CASE("files at or above the threshold are served from an open descriptor", "[fs]") {
    TempDir root;
    root.write("big.bin", std::string(20000, 'b'));
    FileStore store(root.path().string(), 16 * 1024);
    Lookup l = store.open("big.bin");
    REQUIRE(l.result == Lookup::Result::found);
    CHECK_FALSE(l.content);
    REQUIRE(l.file);
    char c = 0;
    CHECK(::pread(l.file->fd(), &c, 1, 19999) == 1);
    CHECK(c == 'b');
}

TEST_CASE("passes are per thread: a change is seen by a pass that begins after it on another thread", "[fs]") {
    // Two event loops: a file checked in one loop's pass is trusted there, but a pass beginning on the other loop after
    // the change must look again, although the first loop's pass has not ended.
    TempDir root;
    root.write("big.bin", std::string(20000, 'a'));
    root.write("a.json", "first");
    FileStore store(root.path().string(), 16 * 1024);
    store.set_pass_end([] { return true; });  // each thread's pass ends only when that thread says
    const Lookup big = store.open("big.bin");
    CHECK(text(store.open("a.json")) == "first");

    root.write("big.bin", std::string(20001, 'b'));  // rewritten in place
    replace_file(root, "a.json", "second");
    Lookup other_big, other_json;
    std::thread([&] {
        other_big = store.open("big.bin");
        other_json = store.open("a.json");
        store.end_pass();
    }).join();
    CHECK(other_big.size == 20001);
    CHECK(other_big.file != big.file);
    CHECK(text(other_json) == "second");
    CHECK(store.open("big.bin").size == 20001);  // newer than this thread's pass: taken as checked
    store.end_pass();
    CHECK(text(store.open("a.json")) == "second");
    store.end_pass();  // (a pass is the thread's, whichever store: none is left open for the next test)
}

TEST_CASE("a thread whose passes nothing ends checks every lookup", "[fs]") {
    TempDir root;
    root.write("a.json", "first");
    FileStore store(root.path().string(), 16 * 1024);
    int asked = 0;
    store.set_pass_end([&] { ++asked; return false; });  // no event loop on this thread
    CHECK(text(store.open("a.json")) == "first");
    replace_file(root, "a.json", "second");
    CHECK(text(store.open("a.json")) == "second");  // no pass to trust it in: looked at again
    CHECK(asked == 2);
}

TEST_CASE("within an event-loop pass a remembered lookup costs no stat, the next pass sees every change", "[fs]") {
    TempDir root;
    root.write("a.json", "first");
    root.write("big.bin", std::string(20000, 'b'));
    FileStore store(root.path().string(), 16 * 1024);
    int requested = 0;
    store.set_pass_end([&] { ++requested; return true; });
    CHECK(text(store.open("a.json")) == "first");
    CHECK(requested == 1);  // the first lookup a pass relies on asks for the pass to end
    Lookup big = store.open("big.bin");
    CHECK(store.open("missing.json").result == Lookup::Result::not_found);
    CHECK(requested == 1);  // once per pass

    replace_file(root, "a.json", "secnd, longer");
    root.write("big.bin", std::string(20001, 'c'));
    root.write("missing.json", "here now");
    // The same pass: one version of each file for every request of the pass.
    CHECK(text(store.open("a.json")) == "first");
    CHECK(store.open("big.bin").file == big.file);  // the same open descriptor
    CHECK(store.open("missing.json").result == Lookup::Result::not_found);

    store.end_pass();
    CHECK(text(store.open("a.json")) == "secnd, longer");
    Lookup big2 = store.open("big.bin");
    CHECK(big2.size == 20001);
    CHECK(big2.file != big.file);
    CHECK(text(store.open("missing.json")) == "here now");
    CHECK(requested == 2);
    std::filesystem::remove(root.path() / "a.json");
    store.end_pass();
    CHECK(store.open("a.json").result == Lookup::Result::not_found);
    store.end_pass();
}

TEST_CASE("a forgotten lookup is opened afresh within the pass", "[fs]") {
    TempDir root;
    root.write("big.bin", std::string(20000, 'b'));
    FileStore store(root.path().string(), 16 * 1024);
    store.set_pass_end([] { return true; });
    CHECK(store.open("m/shard.bin").result == Lookup::Result::not_found);
    root.write("m/shard.bin", "installed by another process");
    CHECK(store.open("m/shard.bin").result == Lookup::Result::not_found);  // remembered for the pass
    store.forget("m/shard.bin");
    Lookup l = store.open("m/shard.bin");
    REQUIRE(l.result == Lookup::Result::found);
    CHECK(text(l) == "installed by another process");
    Lookup big = store.open("big.bin");
    store.forget("big.bin");
    store.forget("never/looked/up.bin");  // nothing to forget: no effect
    CHECK(store.open("big.bin").file != big.file);
    store.end_pass();
}

namespace {
// 64 KiB in this program's read-only data (file-backed), and a heap copy of it (not).
constexpr std::size_t rodata_size = 64 * 1024;
const std::array<char, rodata_size> rodata_bytes = [] {
    std::array<char, rodata_size> a{};
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>('a' + i % 23);
    return a;
}();
}  // namespace

TEST_CASE("a large compiled-in file is found in the program's own file, a small one and a heap one are served from memory") {
    const std::string_view program(rodata_bytes.data(), rodata_bytes.size());
    static const std::string heap(program);
    const std::string digest(64, 'a');
    auto table = std::make_shared<const modelhost::EmbeddedFiles>(std::vector<modelhost::EmbeddedFile>{
        {"big.bin", program, digest, 1700000000}, {"small.bin", program.substr(0, 100), digest, 1700000000},
        {"heap.bin", heap, digest, 1700000000}});
    FileStore store(std::vector<modelhost::Mount>{{"/m/", "", table}}, 16 * 1024);
    Lookup big = store.open("m/big.bin");
    REQUIRE(big.result == Lookup::Result::found);
    REQUIRE(big.file);
    CHECK_FALSE(big.content);
    std::string read(rodata_size, '\0');
    CHECK(::pread(big.file->fd(), read.data(), read.size(), static_cast<off_t>(big.file_offset)) == static_cast<ssize_t>(rodata_size));
    CHECK(read == program);
    CHECK(big.sha256 == digest);
    CHECK(big.mtime.tv_sec == 1700000000);
    Lookup small = store.open("m/small.bin");
    REQUIRE(small.content);
    CHECK(text(small) == program.substr(0, 100));
    Lookup on_heap = store.open("m/heap.bin");
    CHECK_FALSE(on_heap.file);
    CHECK(text(on_heap) == heap);
    CHECK(store.open("m/none.bin").result == Lookup::Result::not_found);
    CHECK(store.open("big.bin").result == Lookup::Result::not_found);  // only under its prefix
}

TEST_CASE("mounts on one prefix answer in order, and a folder answers what a table lacks") {
    TempDir dir;
    dir.write("a.json", "disk a");
    dir.write("b.json", "disk b");
    auto table = std::make_shared<const modelhost::EmbeddedFiles>(
        std::vector<modelhost::EmbeddedFile>{{"a.json", "memory a", std::string_view(), 1}});
    FileStore store(std::vector<modelhost::Mount>{{"/", "", table}, {"/", dir.path().string(), nullptr}}, 16 * 1024);
    CHECK(text(store.open("a.json")) == "memory a");
    CHECK(text(store.open("b.json")) == "disk b");
    FileStore reversed(std::vector<modelhost::Mount>{{"/", dir.path().string(), nullptr}, {"/", "", table}}, 16 * 1024);
    CHECK(text(reversed.open("a.json")) == "disk a");
}

TEST_CASE("a larger file's first bytes come with its descriptor, and follow a same-size rewrite", "[fs]") {
    TempDir root;
    std::string bytes(20000, 'b');
    bytes.replace(0, 5, "first");
    root.write("big.bin", bytes);
    FileStore store(root.path().string(), 16 * 1024);
    Lookup l = store.open("big.bin");
    REQUIRE(l.file);
    REQUIRE(l.head);
    CHECK(l.head_size == Lookup::head_bytes);
    CHECK(std::string(l.head.get(), 6) == "firstb");
    CHECK(std::string(l.head.get() + Lookup::head_bytes - 1, 1) == "b");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    bytes.replace(0, 5, "secnd");
    root.write("big.bin", bytes);  // same size, new mtime: a new head
    Lookup again = store.open("big.bin");
    REQUIRE(again.head);
    CHECK(std::string(again.head.get(), 5) == "secnd");
    CHECK_FALSE(store.open("a-missing.bin").head);
}
