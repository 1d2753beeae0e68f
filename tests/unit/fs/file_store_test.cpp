// The served folder: facts of files strictly beneath the root; small files from memory, never stale.
#include "catch.hpp"

#include "fs/file_store.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace modelhost::fs;
using modelhost::test::TempDir;

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

TEST_CASE("symlinks that leave the root are not followed; ones that stay inside are", "[fs]") {
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
    CHECK(*one.content == "first");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    root.write("a.json", "secnd");  // same size, new mtime
    Lookup two = store.open("a.json");
    REQUIRE(two.content);
    CHECK(*two.content == "secnd");
    std::filesystem::remove(root.path() / "a.json");
    root.write("a.json", "third, longer");  // a new inode
    CHECK(*store.open("a.json").content == "third, longer");
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
