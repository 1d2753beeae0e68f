// Faults in every writer: a full disk (a small tmpfs), a read-only file system (a read-only bind mount), an I/O error
// and no descriptor left (both injected by strace, the only way to get them on demand) during `fetch`, `compress`,
// a mirror fill, the mirror's journal and the PID file. Each gives an error that names the file, the errno and what
// to do; nothing half-written is left under a served name; a running server goes on serving what it has, and fills
// again once the disk is back. Needs root (mount(2)), as the test command runs.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>
#include <sys/mount.h>
#include <sys/statvfs.h>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::vector<std::string> no_leak_check = {"ASAN_OPTIONS=detect_leaks=0"};  // LeakSanitizer cannot run under ptrace

// A file system mounted over a folder for one test, detached at the end (even while a process still uses it).
class Mount {
public:
    // A tmpfs of `bytes` over `at` (created if missing).
    static Mount tmpfs(const fsys::path& at, std::size_t bytes) {
        fsys::create_directories(at);
        const std::string options = "size=" + std::to_string(bytes);
        if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) != 0) refused("a tmpfs on", at);
        return Mount(at);
    }
    // `at` bound onto itself, read-only: its files stay, nothing can be written through it.
    static Mount read_only(const fsys::path& at) {
        if (::mount(at.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0) refused("a bind mount on", at);
        Mount m(at);
        if (::mount(nullptr, at.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) refused("read-only", at);
        return m;
    }
    Mount(Mount&& other) noexcept : at_(std::move(other.at_)) { other.at_.clear(); }
    Mount& operator=(Mount&&) = delete;
    ~Mount() { release(); }
    void release() {
        if (!at_.empty()) ::umount2(at_.c_str(), MNT_DETACH);
        at_.clear();
    }

private:
    explicit Mount(fsys::path at) : at_(std::move(at)) {}
    [[noreturn]] static void refused(const char* what, const fsys::path& at) {
        throw std::runtime_error(std::string("cannot mount ") + what + " " + at.string() + ": " + std::strerror(errno) +
                                 " (the fault tests need root, as the test command runs)");
    }
    fsys::path at_;
};

std::uint64_t free_bytes(const fsys::path& p) {
    struct statvfs s {};
    REQUIRE(::statvfs(p.c_str(), &s) == 0);
    return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

// Takes all but about `leave` bytes of the file system under `dir` (0: every byte) with one file, and returns its path.
fsys::path fill(const fsys::path& dir, std::uint64_t leave) {
    const fsys::path filler = dir / "filler";
    std::ofstream out(filler, std::ios::binary);
    const std::string block(4096, 'F');
    while ((leave == 0 || free_bytes(dir) > leave + block.size()) && out.write(block.data(), block.size()) && out.flush()) {
    }
    return filler;
}

std::string body_of(int i, std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>('a' + (k * 7 + static_cast<std::size_t>(i) * 3 + k / 251) % 26);
    return s;
}

// A TF.js model with two shards of `shard_bytes` under `dir`/m, in the version `version`.
void write_model(const TempDir& dir, int version, std::size_t shard_bytes) {
    dir.write("m/s0.bin", body_of(version * 2, shard_bytes));
    dir.write("m/s1.bin", body_of(version * 2 + 1, shard_bytes));
    dir.write("m/model.json", R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["s0.bin","s1.bin"],)"
                              R"("weights":[{"name":"w","shape":[)" + std::to_string(shard_bytes / 2) + R"(],"dtype":"float32"}]}]})");
}

bool model_is(const fsys::path& dest, int version, std::size_t shard_bytes) {
    return read_file(dest / "s0.bin") == body_of(version * 2, shard_bytes) && read_file(dest / "s1.bin") == body_of(version * 2 + 1, shard_bytes);
}

// Every name under `dir` (recursively) that holds a temporary or partial write.
std::vector<std::string> leftovers(const fsys::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fsys::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.find(".tmp-") != std::string::npos || name.starts_with(".fetch-partial-") || name.ends_with(".part") || name == ".lock")
            out.push_back(e.path().string());
    }
    return out;
}

// A model's origin serving version 1 (shards of `shard_bytes`), and an empty root to fetch it into.
struct FetchSetup {
    TempDir src, dir;
    TestServer origin;
    fsys::path root;
    explicit FetchSetup(std::size_t shard_bytes) : origin((write_model(src, 1, shard_bytes), src.path())), root(dir.path() / "root") {}
};

std::vector<std::string> fetch_argv(std::uint16_t port, const fsys::path& root, bool force) {
    std::vector<std::string> argv = {binary, "fetch", "http://127.0.0.1:" + std::to_string(port) + "/m/model.json",
                                     "--root", root.string(), "--name", "m", "--concurrency", "1"};
    if (force) argv.push_back("--force");
    return argv;
}

// `argv` run under strace, which makes the system calls `calls` (e.g. "fdatasync,fsync") fail with `error`; with
// `path`, only those on that exact file.
std::pair<int, std::string> run_with_fault(const std::vector<std::string>& argv, const std::string& calls, const std::string& error,
                                           const TempDir& dir, const std::string& path = "") {
    std::vector<std::string> traced = {"/usr/bin/strace", "-f", "-qq", "-o", (dir.path() / "strace.log").string()};
    if (!path.empty()) traced.insert(traced.end(), {"-P", path});
    traced.insert(traced.end(), {"-e", "trace=" + calls, "-e", "inject=" + calls + ":error=" + error});
    traced.insert(traced.end(), argv.begin(), argv.end());
    return run_command(traced, no_leak_check);
}

// strace attached to a running process for this object's lifetime: the system calls `calls` fail with `error`
// (with `path`, only those on that exact file). Detaches at the end; the process runs on.
class Injected {
public:
    Injected(const Process& target, const std::string& calls, const std::string& error, const TempDir& dir, const std::string& path = "")
        : strace_(argv(target, calls, error, dir, path)) {
        const std::string status = "/proc/" + std::to_string(target.pid()) + "/status";
        for (int i = 0; i < 100 && read_file(status).find("TracerPid:\t0\n") != std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // and its other threads
    }
    ~Injected() {
        strace_.signal(SIGTERM);  // detaches
        strace_.wait();
    }

private:
    static std::vector<std::string> argv(const Process& target, const std::string& calls, const std::string& error, const TempDir& dir,
                                         const std::string& path) {
        std::vector<std::string> a = {"/usr/bin/strace", "-f", "-qq", "-o", (dir.path() / "strace-attached.log").string(),
                                      "-p", std::to_string(target.pid())};
        if (!path.empty()) a.insert(a.end(), {"-P", path});
        a.insert(a.end(), {"-e", "trace=" + calls, "-e", "inject=" + calls + ":error=" + error});
        return a;
    }
    Process strace_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("fetch on a full disk: a clear error, no retry, the old model intact, and with space freed it completes", "[fault][fetch]") {
    FetchSetup setup(20 * 1000);
    auto& [src, dir, origin, root] = setup;
    Mount disk = Mount::tmpfs(root, 1024 * 1024);
    REQUIRE(run_command(fetch_argv(origin.port(), root, false)).first == 0);
    write_model(src, 2, 300 * 1000);  // the new version needs 600 KB, and 200 KB are left
    const fsys::path filler = fill(root, 200 * 1000);

    auto [code, out] = run_command(fetch_argv(origin.port(), root, true));
    INFO(out);
    CHECK(code == 1);
    CHECK(contains(out, "No space left on device"));
    CHECK(contains(out, "free space"));
    CHECK_FALSE(contains(out, "resuming"));  // a full disk is not the network's failure: not asked again
    CHECK(model_is(root / "m", 1, 20 * 1000));
    CHECK_FALSE(fsys::exists(root / "m.old"));

    fsys::remove(filler);
    auto [again, out2] = run_command(fetch_argv(origin.port(), root, true));
    INFO(out2);
    CHECK(again == 0);
    CHECK(model_is(root / "m", 2, 300 * 1000));
    CHECK(leftovers(root).empty());
}

TEST_CASE("fetch into a read-only root: a clear error naming the folder, nothing changed", "[fault][fetch]") {
    FetchSetup setup(20 * 1000);
    auto& [src, dir, origin, root] = setup;
    fsys::create_directories(root);
    REQUIRE(run_command(fetch_argv(origin.port(), root, false)).first == 0);
    write_model(src, 2, 20 * 1000);
    Mount ro = Mount::read_only(root);

    auto [code, out] = run_command(fetch_argv(origin.port(), root, true));
    INFO(out);
    CHECK(code == 1);
    CHECK(contains(out, "Read-only file system"));
    CHECK(contains(out, "mounted read-only"));
    CHECK(contains(out, root.string()));
    CHECK(model_is(root / "m", 1, 20 * 1000));
    ro.release();
    CHECK(leftovers(root).empty());
}

TEST_CASE("fetch whose syncs fail with EIO: a clear error, nothing installed, nothing left behind", "[fault][fetch]") {
    FetchSetup setup(50 * 1000);
    auto& [src, dir, origin, root] = setup;
    fsys::create_directories(root);
    auto [code, out] = run_with_fault(fetch_argv(origin.port(), root, false), "fdatasync,fsync", "EIO", dir);
    INFO(out);
    CHECK(code == 1);
    CHECK(contains(out, "Input/output error"));
    CHECK(contains(out, "dmesg"));
    CHECK_FALSE(fsys::exists(root / "m"));
    CHECK(leftovers(root).empty());
}

TEST_CASE("fetch --force whose model folder cannot be synced (EIO): the old model is put back, never lost", "[fault][fetch]") {
    FetchSetup setup(20 * 1000);
    auto& [src, dir, origin, root] = setup;
    fsys::create_directories(root);
    REQUIRE(run_command(fetch_argv(origin.port(), root, false)).first == 0);
    write_model(src, 2, 20 * 1000);
    auto [code, out] = run_with_fault(fetch_argv(origin.port(), root, true), "fsync", "EIO", dir, (root / ".fetch-partial-m").string());
    INFO(out);
    CHECK(code == 1);
    CHECK(contains(out, "cannot sync " + (root / ".fetch-partial-m").string() + ": Input/output error"));  // at the install
    CHECK(model_is(root / "m", 1, 20 * 1000));
    CHECK(leftovers(root).empty());
    for (const auto& e : fsys::directory_iterator(root)) CHECK(e.path().filename() == "m");  // no .m.replaced-PID
}

TEST_CASE("fetch that cannot open its shard's file (EMFILE): a clear error with the limit to raise, nothing installed", "[fault][fetch]") {
    FetchSetup setup(50 * 1000);
    auto& [src, dir, origin, root] = setup;
    fsys::create_directories(root);
    const std::string part = (root / ".fetch-partial-m" / "s0.bin.part").string();
    auto [code, out] = run_with_fault(fetch_argv(origin.port(), root, false), "openat", "EMFILE", dir, part);
    INFO(out);
    CHECK(code == 1);
    CHECK(contains(out, "Too many open files"));
    CHECK(contains(out, "ulimit -n"));
    CHECK(contains(out, "s0.bin.part"));
    CHECK_FALSE(contains(out, "after 3 attempts"));
    CHECK_FALSE(fsys::exists(root / "m"));
    // What it had (model.json) is kept for the next run, which completes and leaves nothing behind.
    auto [again, out2] = run_command(fetch_argv(origin.port(), root, false));
    INFO(out2);
    CHECK(again == 0);
    CHECK(model_is(root / "m", 1, 50 * 1000));
    CHECK(leftovers(root).empty());
}

TEST_CASE("compress on a full disk, a read-only folder and failing syncs: exit 1 naming the sidecar, no temporary left", "[fault][compress]") {
    TempDir dir;
    const fsys::path root = dir.path() / "root";
    std::string text;
    for (int i = 0; text.size() < 200 * 1000; ++i) text += "{\"layer\": " + std::to_string(i * 7919 % 100003) + ", \"name\": \"conv" + std::to_string(i) + "\"},\n";
    SECTION("full") {
        Mount disk = Mount::tmpfs(root, 512 * 1024);
        dir.write("root/model.json", text);
        fill(root, 2 * 1000);
        auto [code, out] = run_command({binary, "compress", root.string()});
        INFO(out);
        CHECK(code == 1);
        CHECK(contains(out, "No space left on device"));
        CHECK(contains(out, "model.json."));
        CHECK(leftovers(root).empty());
        for (const char* sidecar : {"model.json.gz", "model.json.br"})
            if (fsys::exists(root / sidecar)) CHECK(fsys::file_size(root / sidecar) > 0);  // whole, if it fit
    }
    SECTION("read-only") {
        dir.write("root/model.json", text);
        Mount ro = Mount::read_only(root);
        auto [code, out] = run_command({binary, "compress", root.string()});
        INFO(out);
        CHECK(code == 1);
        CHECK(contains(out, "Read-only file system"));
        CHECK(contains(out, "model.json.gz"));
        ro.release();
        CHECK(leftovers(root).empty());
        CHECK_FALSE(fsys::exists(root / "model.json.gz"));
    }
    SECTION("EIO") {
        dir.write("root/model.json", text);
        auto [code, out] = run_with_fault({binary, "compress", root.string()}, "fdatasync,fsync", "EIO", dir);
        INFO(out);
        CHECK(code == 1);
        CHECK(contains(out, "Input/output error"));
        CHECK(leftovers(root).empty());
        CHECK_FALSE(fsys::exists(root / "model.json.gz"));
        CHECK_FALSE(fsys::exists(root / "model.json.br"));
    }
}

namespace {

// An upstream with /m/<name> files; the mirror at /hub/ in front of it, on `root`.
struct MirrorSetup {
    std::map<std::string, std::string> files;
    std::unique_ptr<CannedServer> up;
    TempDir dir;

    explicit MirrorSetup(std::map<std::string, std::string> f) : files(std::move(f)) {
        up = std::make_unique<CannedServer>([this](const std::string& head) {
            auto start = head.find(' ') + 1;
            std::string target = head.substr(start, head.find(' ', start) - start);
            auto it = files.find(target.substr(std::string("/m/").size()));
            if (it == files.end()) return std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(it->second.size()) + "\r\nConnection: close\r\n\r\n" + it->second;
        });
        dir.write("c.json", R"({"server": {"port": 0}, "log": {"access_log": false}, "mirrors": [{"path": "/hub/", "upstream": ")" +
                                up->base() + R"(/m/"}]})");
    }
    std::vector<std::string> serve(const fsys::path& root) const {
        return {binary, "--config", (dir.path() / "c.json").string(), "--root", root.string()};
    }
    // True when `name` comes back whole (200, the upstream's bytes); false when cut short or refused.
    bool whole(std::uint16_t port, const std::string& name) const {
        try {
            Response r = request(port, "GET", "/hub/" + name);
            return r.result_int() == 200 && r.body() == files.at(name);
        } catch (const std::exception&) {  // cut short of its Content-Length
            return false;
        }
    }
};

// The mirrored files under root/hub, with sizes.
std::map<std::string, std::uint64_t> stored(const fsys::path& root) {
    std::map<std::string, std::uint64_t> out;
    if (!fsys::exists(root / "hub")) return out;
    for (const auto& e : fsys::recursive_directory_iterator(root / "hub"))
        if (e.is_regular_file()) out[e.path().lexically_relative(root / "hub").string()] = e.file_size();
    return out;
}

// The transfer files in the store's tmp folders (each process's own folder stays while it runs).
std::vector<std::string> in_flight(const fsys::path& root) {
    std::vector<std::string> out;
    for (const auto& e : fsys::recursive_directory_iterator(root / ".mirror/tmp"))
        if (e.is_regular_file() && e.path().parent_path() != root / ".mirror/tmp") out.push_back(e.path().string());
    return out;
}

// What .mirror/index.json lists, with sizes (written at a clean stop).
std::map<std::string, std::uint64_t> indexed(const fsys::path& root) {
    auto doc = nlohmann::json::parse(read_file(root / ".mirror/index.json"), nullptr, false);
    std::map<std::string, std::uint64_t> out;
    if (!doc.is_object() || !doc.contains("files")) return out;
    for (auto it = doc["files"].begin(); it != doc["files"].end(); ++it)
        out[it.key().substr(std::string("/hub/").size())] = it.value()["size"].get<std::uint64_t>();
    return out;
}

const auto past_failure_memory = std::chrono::milliseconds(1200);  // a failed fill answers for 1 s (mirror.cpp)

}  // namespace

TEST_CASE("a mirror on a full disk: the fill that does not fit fails and leaves nothing, the rest is served, and it fills once space is freed", "[fault][mirror]") {
    MirrorSetup m({{"small.bin", body_of(1, 20 * 1000)}, {"other.bin", body_of(2, 20 * 1000)}, {"big.bin", body_of(3, 600 * 1000)}});
    const fsys::path root = m.dir.path() / "root";
    Mount disk = Mount::tmpfs(root, 2 * 1024 * 1024);
    Process server(m.serve(root));
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    CHECK(m.whole(port, "small.bin"));
    const fsys::path filler = fill(root, 300 * 1000);

    CHECK_FALSE(m.whole(port, "big.bin"));
    CHECK_FALSE(stored(root).contains("big.bin"));
    CHECK(m.whole(port, "small.bin"));  // a hit, on a full disk
    CHECK(m.whole(port, "other.bin"));  // a cold fill that fits
    CHECK(in_flight(root).empty());
    CHECK(contains(server.output(), "No space left on device"));

    fsys::remove(filler);
    std::this_thread::sleep_for(past_failure_memory);
    CHECK(m.whole(port, "big.bin"));
    server.signal(SIGTERM);
    CHECK(server.wait() == 0);
    auto on_disk = stored(root);
    CHECK(on_disk == indexed(root));
    CHECK(on_disk.size() == 3);
    for (const auto& [name, size] : on_disk) CHECK(read_file(root / "hub" / name) == m.files.at(name));
}

TEST_CASE("a clean stop right after a fill leaves an index that lists it (the final compaction is not cut off by the exit)", "[mirror][durable]") {
    MirrorSetup m({{"a.bin", body_of(1, 50 * 1000)}});
    const fsys::path root = m.dir.path() / "root";
    for (int round = 0; round < 10; ++round) {
        INFO("round " << round);
        fsys::remove_all(root);
        fsys::create_directories(root);
        Process server(m.serve(root));
        auto port = server.wait_for_port();
        REQUIRE(port != 0);
        CHECK(m.whole(port, "a.bin"));
        server.signal(SIGTERM);  // while the transfer's thread may still be finishing
        CHECK(server.wait() == 0);
        CHECK(indexed(root) == stored(root));
        CHECK(leftovers(root).empty());
    }
}

TEST_CASE("a mirror fill whose syncs fail with EIO installs nothing and is answered 502, and the server goes on serving", "[fault][mirror]") {
    MirrorSetup m({{"small.bin", body_of(1, 20 * 1000)}, {"cold.bin", body_of(2, 200 * 1000)}});
    const fsys::path root = m.dir.path() / "root";
    fsys::create_directories(root);
    m.dir.write("root/static.txt", "still here\n");
    Process server(m.serve(root), no_leak_check);
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    CHECK(m.whole(port, "small.bin"));
    {
        Injected eio(server, "fdatasync,fsync", "EIO", m.dir);  // from now on every sync in the server fails
        CHECK_FALSE(m.whole(port, "cold.bin"));
        CHECK_FALSE(stored(root).contains("cold.bin"));
        CHECK(m.whole(port, "small.bin"));
        CHECK(request(port, "GET", "/static.txt").body() == "still here\n");
        CHECK(in_flight(root).empty());
    }
    CHECK(contains(server.output(), "Input/output error"));
    std::this_thread::sleep_for(past_failure_memory);
    CHECK(m.whole(port, "cold.bin"));
    server.signal(SIGTERM);
    CHECK(server.wait() == 0);
    CHECK(stored(root) == indexed(root));
}

TEST_CASE("a mirror whose journal cannot be appended to installs nothing it could not record, and records again after", "[fault][mirror]") {
    MirrorSetup m({{"small.bin", body_of(1, 20 * 1000)}, {"cold.bin", body_of(2, 100 * 1000)}});
    const fsys::path root = m.dir.path() / "root";
    fsys::create_directories(root);
    Process server(m.serve(root), no_leak_check);
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    CHECK(m.whole(port, "small.bin"));
    fsys::path journal;
    for (const auto& e : fsys::directory_iterator(root / ".mirror"))
        if (e.path().filename().string().starts_with("journal.")) journal = e.path();
    REQUIRE(!journal.empty());
    {
        Injected full(server, "write,pwrite64,writev", "ENOSPC", m.dir, journal.string());  // the journal's writes fail
        CHECK_FALSE(m.whole(port, "cold.bin"));
        CHECK_FALSE(stored(root).contains("cold.bin"));  // a file no record names would be nobody's
        CHECK(m.whole(port, "small.bin"));
    }
    CHECK(contains(server.output(), "cannot append to " + journal.string() + ": No space left on device"));
    std::this_thread::sleep_for(past_failure_memory);
    CHECK(m.whole(port, "cold.bin"));
    server.signal(SIGTERM);
    CHECK(server.wait() == 0);
    CHECK(stored(root) == indexed(root));
    CHECK(stored(root).size() == 2);
}

TEST_CASE("a mirror whose transfer folder turns read-only: cold fills are 502 with a clear log, hits and files are served, and it fills again after", "[fault][mirror]") {
    MirrorSetup m({{"small.bin", body_of(1, 20 * 1000)}, {"cold.bin", body_of(2, 50 * 1000)}});
    const fsys::path root = m.dir.path() / "root";
    fsys::create_directories(root);
    m.dir.write("root/static.txt", "still here\n");
    Process server(m.serve(root));
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    CHECK(m.whole(port, "small.bin"));
    fsys::path own;
    for (const auto& e : fsys::directory_iterator(root / ".mirror/tmp"))
        if (e.is_directory()) own = e.path();
    REQUIRE(!own.empty());
    {
        Mount ro = Mount::read_only(own);
        Response r = request(port, "GET", "/hub/cold.bin");
        CHECK(r.result_int() == 502);
        CHECK(m.whole(port, "small.bin"));
        CHECK(request(port, "GET", "/static.txt").body() == "still here\n");
        CHECK(contains(server.output(), "Read-only file system"));
        CHECK(contains(server.output(), "mounted read-only"));
    }
    std::this_thread::sleep_for(past_failure_memory);
    CHECK(m.whole(port, "cold.bin"));
    CHECK(in_flight(root).empty());
}

TEST_CASE("a mirror root that is read-only at start: the server refuses to start, naming the store and why", "[fault][mirror]") {
    MirrorSetup m({{"small.bin", body_of(1, 20 * 1000)}});
    const fsys::path root = m.dir.path() / "root";
    fsys::create_directories(root);
    Mount ro = Mount::read_only(root);
    auto [code, out] = run_command(m.serve(root));
    INFO(out);
    CHECK(code != 0);
    CHECK(contains(out, (root / ".mirror").string()));
    CHECK(contains(out, "Read-only file system"));
    CHECK(contains(out, "mounted read-only"));
}

TEST_CASE("a PID file that cannot be written stops the start with an error naming server.pid_file, and leaves no file", "[fault][serve]") {
    TempDir dir;
    const fsys::path root = dir.path() / "root", run = dir.path() / "run";
    fsys::create_directories(root);
    SECTION("read-only folder") {
        fsys::create_directories(run);
        Mount ro = Mount::read_only(run);
        auto [code, out] = run_command({binary, "--root", root.string(), "--port", "0", "--config", dir.write("c.json",
            R"({"server": {"pid_file": ")" + (run / "modelhost.pid").string() + R"("}})").string()});
        INFO(out);
        CHECK(code != 0);
        CHECK(contains(out, "server.pid_file"));
        CHECK(contains(out, "Read-only file system"));
        ro.release();
        CHECK(fsys::is_empty(run));
    }
    SECTION("full disk") {
        Mount disk = Mount::tmpfs(run, 64 * 1024);
        fill(run, 0);
        auto [code, out] = run_command({binary, "--root", root.string(), "--port", "0", "--config", dir.write("c.json",
            R"({"server": {"pid_file": ")" + (run / "modelhost.pid").string() + R"("}})").string()});
        INFO(out);
        CHECK(code != 0);
        CHECK(contains(out, "server.pid_file"));
        CHECK(contains(out, "No space left on device"));
        CHECK(leftovers(run).empty());
        CHECK_FALSE(fsys::exists(run / "modelhost.pid"));
    }
}
