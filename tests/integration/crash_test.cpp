// kill -9 at random moments during mirror fills and fetches: whatever was cut off, nothing short or corrupt is ever
// under a served name afterwards, and the next request (or the same fetch again) completes with the right bytes.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;
constexpr int files = 6;

std::string body_of(int i) {
    std::string s(200 * 1000, '\0');
    for (std::size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>('A' + (k + static_cast<std::size_t>(i) * 5) % 23);
    return s;
}

// The upstream's answer for a body (it waits 30 ms before each, so kills land before, during and after fills).
std::string answer_with(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("kill -9 during mirror fills: after each restart only whole files are served, and the next request fills", "[mirror][durable][crash]") {
    std::vector<std::string> bodies;
    for (int i = 0; i < files; ++i) bodies.push_back(body_of(i));
    CannedServer up([&](const std::string& head) {
        auto start = head.find(' ') + 1;
        std::string target = head.substr(start, head.find(' ', start) - start);
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        return answer_with(bodies.at(static_cast<std::size_t>(std::atoi(target.c_str() + 3))));
    });
    TempDir dir;
    const fsys::path root = dir.path() / "root";
    fsys::create_directories(root);
    dir.write("c.json", R"({"server": {"port": 0}, "log": {"access_log": false}, "mirrors": [{"path": "/hub/", "upstream": ")" +
                            up.base() + R"(/", "max_bytes": 800000}]})");
    std::mt19937 random(12345);
    for (int round = 0; round < 25; ++round) {
        INFO("round " << round);
        Process server({binary, "--config", (dir.path() / "c.json").string(), "--root", root.string()});
        auto port = server.wait_for_port();
        REQUIRE(port != 0);
        std::vector<std::thread> clients;
        for (int i = 0; i < files; ++i)
            clients.emplace_back([port, i] {
                try {
                    request(port, "GET", "/hub/m/" + std::to_string(i) + ".bin");
                } catch (const std::exception&) {  // cut off by the kill
                }
            });
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 120));
        server.signal(SIGKILL);
        server.wait();
        for (auto& t : clients) t.join();
        // Whatever stands under a served name is whole.
        for (int i = 0; i < files; ++i) {
            auto f = root / "hub/m" / (std::to_string(i) + ".bin");
            if (fsys::exists(f)) CHECK(read_file(f) == bodies[static_cast<std::size_t>(i)]);
        }
        Process again({binary, "--config", (dir.path() / "c.json").string(), "--root", root.string()});
        auto port2 = again.wait_for_port();
        REQUIRE(port2 != 0);
        const int i = static_cast<int>(random() % files);
        Response r = request(port2, "GET", "/hub/m/" + std::to_string(i) + ".bin");
        CHECK(r.result_int() == 200);
        CHECK(r.body() == bodies[static_cast<std::size_t>(i)]);
        again.signal(SIGKILL);
        again.wait();
    }
}

TEST_CASE("kill -9 during fetches: no partial model is ever installed, and the same fetch run again completes", "[fetch][durable][crash]") {
    TempDir src;
    std::string paths;
    for (int i = 0; i < files; ++i) {
        src.write("m/s" + std::to_string(i) + ".bin", body_of(i));
        paths += std::string(i ? "," : "") + "\"s" + std::to_string(i) + ".bin\"";
    }
    src.write("m/model.json", R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":[)" + paths +
                                  R"(],"weights":[{"name":"w","shape":[300000],"dtype":"float32"}]}]})");
    TestServer origin(src.path());
    const std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/m/model.json";
    std::mt19937 random(54321);
    for (int round = 0; round < 25; ++round) {
        INFO("round " << round);
        TempDir dest;
        const std::vector<std::string> argv = {binary, "fetch", url, "--root", dest.path().string(), "--name", "m", "--concurrency", "1"};
        {
            Process fetch(argv);
            std::this_thread::sleep_for(std::chrono::milliseconds(random() % 150));
            fetch.signal(SIGKILL);
            fetch.wait();
        }
        if (fsys::exists(dest.path() / "m"))  // installed before the kill: then whole
            for (int i = 0; i < files; ++i) CHECK(read_file(dest.path() / "m" / ("s" + std::to_string(i) + ".bin")) == body_of(i));
        auto [code, out] = run_command(argv);
        INFO(out);
        if (!fsys::exists(dest.path() / "m")) {
            CHECK(code == 0);
        }
        for (int i = 0; i < files; ++i) CHECK(read_file(dest.path() / "m" / ("s" + std::to_string(i) + ".bin")) == body_of(i));
    }
}
