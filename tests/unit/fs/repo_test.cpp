// fs::RepoIndex: a folder listed as the hub lists a revision, its commit, and its hashes.
#include "catch.hpp"

#include "fs/digest.hpp"
#include "fs/repo.hpp"
#include "temp_dir.hpp"

#include <fstream>
#include <future>
#include <thread>

using namespace modelhost;
using modelhost::test::TempDir;

namespace {

std::vector<std::string> paths(const fs::RepoSnapshot& s) {
    std::vector<std::string> out;
    for (const auto& e : s.entries) out.push_back((e.folder ? "d " : "f ") + e.path);
    return out;
}

// Waits (at most 10 s) until the index has read every hash of `repo` on its own thread.
void wait_hashed(const fs::RepoIndex& index, const std::shared_ptr<const fs::RepoSnapshot>& repo) {
    auto join = index.until_hashed(repo);
    if (!join) return;
    std::promise<void> done;
    (*join)([&] { done.set_value(); });
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}

}  // namespace

TEST_CASE("a repository lists files and folders in path order, without hidden names, twins or symlinks", "[repo]") {
    TempDir root;
    root.write("acme/tiny/config.json", "{}");
    root.write("acme/tiny/tokenizer.json", "{\"a\": 1}");
    root.write("acme/tiny/tokenizer.json.gz", "twin");
    root.write("acme/tiny/archive.gz", "a file of its own");
    root.write("acme/tiny/onnx/model.onnx", "onnx");
    root.write("acme/tiny/.git/HEAD", "hidden");
    root.write("acme/tiny/.modelhost-hf.json", "{}");
    std::filesystem::create_symlink("/etc/passwd", root.path() / "acme/tiny/escape.txt");
    fs::RepoIndex index(root.path());
    auto s = index.snapshot("acme/tiny");
    REQUIRE(s);
    CHECK(paths(*s) == std::vector<std::string>{"f archive.gz", "f config.json", "d onnx", "f onnx/model.onnx", "f tokenizer.json"});
    CHECK(s->commit.size() == 40);
    CHECK_FALSE(s->recorded);
    CHECK(s->find("onnx/model.onnx")->lfs);
    CHECK_FALSE(s->find("config.json")->lfs);
    CHECK_FALSE(index.snapshot("acme/none"));
}

TEST_CASE("the derived commit stays while nothing changes and is new once a file changes", "[repo]") {
    TempDir root;
    root.write("m/config.json", "{}");
    const std::string before = fs::RepoIndex(root.path()).snapshot("m")->commit;
    CHECK(fs::RepoIndex(root.path()).snapshot("m")->commit == before);
    root.write("m/extra.json", "{}");
    CHECK(fs::RepoIndex(root.path()).snapshot("m")->commit != before);
}

TEST_CASE("a snapshot is listed again after a second, and kept with its answers when nothing changed", "[repo]") {
    TempDir root;
    root.write("m/config.json", "{}");
    fs::RepoIndex index(root.path());
    auto first = index.snapshot("m");
    int made = 0;
    first->answer("k", [&] { ++made; return fs::RepoAnswer{"body", ""}; });
    first->answer("k", [&] { ++made; return fs::RepoAnswer{"other", ""}; });
    CHECK(made == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK(index.snapshot("m") == first);  // listed again, unchanged
    root.write("m/new.json", "{}");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK(index.snapshot("m") != first);
}

TEST_CASE("a recorded commit wins, and a recorded hash counts only while the file has its size and mtime", "[repo]") {
    TempDir root;
    root.write("m/w.onnx", "weights");
    fs::RepoIndex index(root.path());
    const auto* e = index.snapshot("m")->find("w.onnx");
    const auto mtime_ns = static_cast<std::uint64_t>(e->mtime.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(e->mtime.tv_nsec);
    const std::string recorded(64, 'a');
    root.write("m/.modelhost-hf.json", R"({"commit": "0123456789abcdef0123456789abcdef01234567", "files": {"w.onnx": {"size": 7, "mtime_ns": )" +
                                           std::to_string(mtime_ns) + R"(, "sha256": ")" + recorded + "\"}}}");
    auto s = fs::RepoIndex(root.path()).snapshot("m");
    CHECK(s->recorded);
    CHECK(s->commit == "0123456789abcdef0123456789abcdef01234567");
    CHECK(fs::RepoIndex(root.path()).sha256(*s, *s->find("w.onnx")) == recorded);

    root.write("m/w.onnx", "rewritten");  // another size: the record's hash no longer counts, the bytes are read
    fs::RepoIndex later(root.path());
    auto again = later.snapshot("m");
    CHECK_FALSE(later.sha256(*again, *again->find("w.onnx")));  // not known yet: read off the asking thread
    wait_hashed(later, again);
    CHECK(later.sha256(*again, *again->find("w.onnx")) == fs::digest_bytes(fs::Digest::sha256, "rewritten"));
    CHECK(later.oid(*again, *again->find("w.onnx")).has_value());
    CHECK_FALSE(later.until_hashed(again));  // all known now
}

TEST_CASE("an LFS pointer has the spec's three lines", "[repo]") {
    CHECK(fs::lfs_pointer(std::string(64, 'f'), 12) ==
          "version https://git-lfs.github.com/spec/v1\noid sha256:" + std::string(64, 'f') + "\nsize 12\n");
    CHECK(fs::lfs_sized("model.safetensors", 10));
    CHECK(fs::lfs_sized("tokenizer.json", 10u << 20));
    CHECK_FALSE(fs::lfs_sized("tokenizer.json", 1000));
}
