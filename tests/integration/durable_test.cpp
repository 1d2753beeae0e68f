// Durable installs, seen from the system calls: every file `fetch` and a mirror fill rename into place is synced
// (fsync/fdatasync) under its temporary name first, and the folder it lands in is synced after the rename. Without
// both, a power loss can leave an empty or short file under a valid name. Runs the binary under strace (-y names
// each descriptor's file).
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <csignal>
#include <signal.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::vector<std::string> no_leak_check = {"ASAN_OPTIONS=detect_leaks=0"};  // LeakSanitizer cannot run under ptrace
const std::vector<std::string> strace = {"/usr/bin/strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"};

std::vector<std::string> lines_of(const fsys::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// For each rename in the trace: its source was synced before it and the destination's folder after it (for fetch's
// work folder, .fetch-partial-NAME, once, just before it is itself renamed into place). Returns the renames that
// break the rule ("" entries: none) and counts those checked.
std::vector<std::string> unsynced_renames(const std::vector<std::string>& trace, int& checked) {
    static const std::regex rename_re(R"re(rename(?:at2?)?\((?:[^,]*, )?"([^"]+)", (?:[^,]*, )?"([^"]+)")re");
    // (with threads, strace may split a call: "fsync(5</a> <unfinished ...>", its result on a later line)
    static const std::regex sync_re(R"re(f(?:data)?sync\(\d+<([^>]+)>)re");
    std::vector<std::string> bad;
    checked = 0;
    for (std::size_t i = 0; i < trace.size(); ++i) {
        std::smatch m;
        if (!std::regex_search(trace[i], m, rename_re) || trace[i].find("= 0") == std::string::npos) continue;
        const fsys::path from = fsys::absolute(m[1].str()), to = fsys::absolute(m[2].str());
        bool before = false, after = false;
        for (std::size_t j = 0; j < trace.size(); ++j) {
            std::smatch s;
            if (!std::regex_search(trace[j], s, sync_re)) continue;
            if (j < i && fsys::path(s[1].str()) == from) before = true;
            if (j > i && fsys::path(s[1].str()) == to.parent_path()) after = true;
        }
        ++checked;
        if (!before || !after) bad.push_back(trace[i] + (before ? "" : "  [not synced before]") + (after ? "" : "  [folder not synced after]"));
    }
    return bad;
}

const std::string manifest =
    R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of2.bin","w/group1-shard2of2.bin"],"weights":[{"name":"w","shape":[300],"dtype":"float32"}]}]})";

}  // namespace

TEST_CASE("fetch syncs each file before its rename and the folder after", "[fetch][durable]") {
    TempDir src;
    src.write("m/model.json", manifest);
    src.write("m/group1-shard1of2.bin", std::string(1000, '\x01'));
    src.write("m/w/group1-shard2of2.bin", std::string(200, '\x02'));  // in a subfolder: synced too
    TestServer origin(src.path());
    TempDir dest;
    const auto trace = dest.path() / "trace.txt";
    std::vector<std::string> argv = strace;
    for (std::string a : {std::string("-o"), trace.string(), binary, std::string("fetch"),
                          "http://127.0.0.1:" + std::to_string(origin.port()) + "/m/model.json", std::string("--root"),
                          (dest.path() / "root").string(), std::string("--name"), std::string("m")})
        argv.push_back(a);
    auto [code, out] = run_command(argv, no_leak_check);
    INFO(out);
    REQUIRE(code == 0);
    int checked = 0;
    auto bad = unsynced_renames(lines_of(trace), checked);
    for (const auto& b : bad) UNSCOPED_INFO(b);
    CHECK(bad.empty());
    CHECK(checked >= 4);  // model.json, two shards, the model folder (and the resume state)
    CHECK(fsys::file_size(dest.path() / "root/m/group1-shard1of2.bin") == 1000);
    CHECK(fsys::file_size(dest.path() / "root/m/w/group1-shard2of2.bin") == 200);
}

TEST_CASE("a mirror fill syncs the file before its rename and the folder after, and its index likewise", "[mirror][durable]") {
    CannedServer up({{"/a/b.bin", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"}},
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    TempDir dir;
    const auto trace = dir.path() / "trace.txt";
    fsys::create_directories(dir.path() / "root");
    dir.write("c.json", R"({"server": {"port": 0}, "mirrors": [{"path": "/hub/", "upstream": ")" + up.base() + "/\"}]}");
    std::vector<std::string> argv = strace;
    for (std::string a : {std::string("-o"), trace.string(), binary, std::string("--config"), (dir.path() / "c.json").string(),
                          std::string("--root"), (dir.path() / "root").string()})
        argv.push_back(a);
    Process server(argv, no_leak_check);
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    CHECK(request(port, "GET", "/hub/a/b.bin").body() == "body");
    // The server is strace's child: it is told to stop, and strace ends with it.
    std::ifstream children("/proc/" + std::to_string(server.pid()) + "/task/" + std::to_string(server.pid()) + "/children");
    pid_t child = 0;
    children >> child;
    REQUIRE(child > 0);
    ::kill(child, SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    int checked = 0;
    auto lines = lines_of(trace);
    auto bad = unsynced_renames(lines, checked);
    for (const auto& b : bad) UNSCOPED_INFO(b);
    CHECK(bad.empty());
    bool file_renamed = false, index_renamed = false;
    for (const auto& l : lines) {
        file_renamed = file_renamed || (l.find("rename") != std::string::npos && l.find("/hub/a/b.bin\"") != std::string::npos);
        index_renamed = index_renamed || (l.find("rename") != std::string::npos && l.find(".mirror/index.json\"") != std::string::npos);
    }
    CHECK(checked >= 2);  // the file, the index
    CHECK(file_renamed);
    CHECK(index_renamed);
}
