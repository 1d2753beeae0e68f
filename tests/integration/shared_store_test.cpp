// Several modelhost processes on one mirror root (replicas on a shared volume): fills are single-flight across them,
// eviction keeps the store within max_bytes over all of them, and no answer is a 404 or wrong bytes for a file the
// upstream has, even when one process evicts what another has just stored or is about to serve.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;

constexpr int files = 30;
constexpr std::size_t file_bytes = 300 * 1000;
constexpr std::uint64_t max_bytes = 10 * file_bytes + file_bytes / 2;  // room for ten and a half files

// The bytes of shard `i`: distinct per file and per position, so a wrong file or a torn one is seen.
std::string shard(int i) {
    std::string s(file_bytes, '\0');
    for (std::size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>('a' + (k * 7 + static_cast<std::size_t>(i) * 13) % 26);
    return s;
}

// What stands in the store outside the mirror's bookkeeping, with sizes.
std::map<std::string, std::uint64_t> stored(const fsys::path& root) {
    std::map<std::string, std::uint64_t> out;
    for (const auto& e : fsys::recursive_directory_iterator(root))
        if (e.is_regular_file() && e.path().string().find("/.mirror/") == std::string::npos)
            out["/" + e.path().lexically_relative(root).string()] = e.file_size();
    return out;
}

void run_replicas(int replicas) {
    std::vector<std::string> bodies;
    for (int i = 0; i < files; ++i) bodies.push_back(shard(i));
    std::atomic<int> upstream_gets{0};
    CannedServer up([&](const std::string& head) {
        auto start = head.find(' ') + 1;
        std::string target = head.substr(start, head.find(' ', start) - start);
        int i = std::atoi(target.c_str() + 3);  // "/m/17.bin"
        ++upstream_gets;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const std::string& body = bodies.at(static_cast<std::size_t>(i));
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    });
    TempDir dir;
    const fsys::path root = dir.path() / "root";
    fsys::create_directories(root);
    const std::string config = R"({"server": {"port": 0, "threads": 2}, "log": {"access_log": false},
        "mirrors": [{"path": "/hub/", "upstream": ")" + up.base() + R"(/", "max_bytes": )" + std::to_string(max_bytes) + "}]}";
    dir.write("c.json", config);
    std::vector<std::unique_ptr<Process>> servers;
    std::vector<std::uint16_t> ports;
    for (int k = 0; k < replicas; ++k) {
        servers.push_back(std::make_unique<Process>(std::vector<std::string>{binary, "--config", (dir.path() / "c.json").string(),
                                                                             "--root", root.string()}));
        ports.push_back(servers.back()->wait_for_port());
        REQUIRE(ports.back() != 0);
    }
    std::atomic<int> good{0};
    std::mutex failures_lock;
    std::vector<std::string> failures;
    for (int round = 0; round < 3; ++round) {
        std::vector<std::thread> clients;
        for (int c = 0; c < 60; ++c)
            clients.emplace_back([&, c, round] {
                const int i = (c * 7 + round * 11) % files;
                const auto port = ports[static_cast<std::size_t>(c) % ports.size()];
                Response r = request(port, "GET", "/hub/m/" + std::to_string(i) + ".bin", "Origin: https://app.example\r\n");
                if (r.result_int() == 200 && r.body() == bodies[static_cast<std::size_t>(i)]) {
                    ++good;
                } else {
                    std::lock_guard g(failures_lock);
                    failures.push_back("round " + std::to_string(round) + ", file " + std::to_string(i) + ": " +
                                       std::to_string(r.result_int()) + ", " + std::to_string(r.body().size()) + " bytes");
                }
            });
        for (auto& t : clients) t.join();
        std::uint64_t total = 0;
        for (const auto& [path, size] : stored(root)) total += size;
        CHECK(total <= max_bytes + file_bytes);  // within max_bytes, plus one file
    }
    for (const auto& f : failures) UNSCOPED_INFO(f);
    CHECK(failures.empty());
    CHECK(good == 180);
    // Stopped cleanly, the last to go leaves an index that lists exactly what is stored, with its sizes.
    for (auto& s : servers) {
        s->signal(SIGTERM);
        CHECK(s->wait() == 0);
    }
    auto doc = nlohmann::json::parse(read_file(root / ".mirror/index.json"), nullptr, false);
    REQUIRE(doc.is_object());
    REQUIRE(doc.contains("files"));
    std::map<std::string, std::uint64_t> listed;
    for (auto it = doc["files"].begin(); it != doc["files"].end(); ++it) listed[it.key()] = it.value()["size"].get<std::uint64_t>();
    CHECK(listed == stored(root));
    for (const auto& [path, size] : stored(root)) CHECK(read_file(root / path.substr(1)) == bodies.at(static_cast<std::size_t>(std::atoi(path.c_str() + 7))));
    CHECK(fsys::is_empty(root / ".mirror/tmp"));
}

}  // namespace

TEST_CASE("two processes on one mirror root with max_bytes answer every request with the right bytes", "[mirror][shared]") {
    run_replicas(2);
}

TEST_CASE("four processes on one mirror root with max_bytes answer every request with the right bytes", "[mirror][shared]") {
    run_replicas(4);
}

TEST_CASE("a cold file asked of two processes on one root at once is fetched upstream once", "[mirror][shared]") {
    std::atomic<int> gets{0};
    CannedServer up([&](const std::string&) {
        ++gets;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    });
    TempDir dir;
    dir.write("c.json", R"({"server": {"port": 0}, "mirrors": [{"path": "/hub/", "upstream": ")" + up.base() + "/\"}]}");
    Process a({binary, "--config", (dir.path() / "c.json").string(), "--root", dir.path().string()});
    Process b({binary, "--config", (dir.path() / "c.json").string(), "--root", dir.path().string()});
    const auto pa = a.wait_for_port(), pb = b.wait_for_port();
    REQUIRE(pa != 0);
    REQUIRE(pb != 0);
    std::string ra, rb;
    std::thread ta([&] { ra = request(pa, "GET", "/hub/x.bin").body(); });
    std::thread tb([&] { rb = request(pb, "GET", "/hub/x.bin").body(); });
    ta.join();
    tb.join();
    CHECK(ra == "hello");
    CHECK(rb == "hello");
    CHECK(gets == 1);
}
