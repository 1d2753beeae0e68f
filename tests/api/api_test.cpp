// The embedding API (include/modelhost/modelhost.hpp) over real sockets, linked as an app links it: the shared
// library and its public header only (the client side is the tests' own, tests/support/http_client.hpp).
#include "catch.hpp"

#include "http_client.hpp"
#include "temp_dir.hpp"

#include <modelhost/modelhost.hpp>
#include <modelhost_assets/demo.hpp>
#include <modelhost_assets/fixture.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
#include <sys/socket.h>

using modelhost::test::Client;
using modelhost::test::request;
using modelhost::test::Response;
using modelhost::test::TempDir;
namespace fsys = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::size_t count_entries(const char* folder) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fsys::directory_iterator(folder)) ++n;
    return n;
}

// Every header but Date, as "name: value" lines in the order sent.
std::vector<std::string> headers_of(const Response& r) {
    std::vector<std::string> out;
    for (const auto& f : r)
        if (f.name_string() != "Date") out.push_back(std::string(f.name_string()) + ": " + std::string(f.value()));
    return out;
}

std::string slurp(const fsys::path& p) { return modelhost::test::read_file(p); }

// A copy of the fixture folder the `fixture` table was built from, with the same mtimes.
void copy_fixture(const TempDir& to) {
    fsys::copy(MODELHOST_API_FIXTURE, to.path(), fsys::copy_options::recursive);
    for (const auto& e : fsys::recursive_directory_iterator(MODELHOST_API_FIXTURE)) {
        auto rel = fsys::relative(e.path(), MODELHOST_API_FIXTURE);
        fsys::last_write_time(to.path() / rel, fsys::last_write_time(e.path()));
    }
}

}  // namespace

TEST_CASE("api: a server on port 0 binds before start() returns and names its port and URL") {
    modelhost::Server server;
    CHECK(server.port() == 0);
    CHECK(server.url().empty());
    server.mount("/models", modelhost_assets::demo());
    server.start();
    REQUIRE(server.port() != 0);
    CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/");
    auto r = request(server.port(), "GET", "/models/model.json", "Origin: https://app.example\r\n");
    CHECK(r.result_int() == 200);
    CHECK(r.body() == slurp(fsys::path(MODELHOST_SOURCE_DIR) / "models/demo/model.json"));
    CHECK(r["Access-Control-Allow-Origin"] == "*");
    CHECK(r["Cache-Control"] == "no-cache");
    CHECK(request(server.port(), "GET", "/models/missing.json").result_int() == 404);
    CHECK(request(server.port(), "GET", "/model.json").result_int() == 404);  // nothing mounted at "/"
    std::string error;
    CHECK_FALSE(server.start(error));
    CHECK(error.find("started already") != std::string::npos);
}

TEST_CASE("api: two servers in one process serve their own mounts and report to their own callbacks") {
    TempDir dir;
    dir.write("b.json", "{\"b\":1}");
    std::mutex m;
    std::vector<std::string> seen_a, seen_b;
    modelhost::Server a, b;
    a.mount("/a/", modelhost_assets::demo());
    b.mount("/b/", dir.path().string());
    a.on_access([&](const modelhost::AccessRecord& r) {
        std::lock_guard g(m);
        seen_a.push_back(std::to_string(r.status) + " " + std::string(r.target));
    });
    b.on_access([&](const modelhost::AccessRecord& r) {
        std::lock_guard g(m);
        seen_b.push_back(std::to_string(r.status) + " " + std::string(r.target));
    });
    a.start();
    b.start();
    CHECK(a.port() != b.port());
    CHECK(request(a.port(), "GET", "/a/model.json").result_int() == 200);
    CHECK(request(a.port(), "GET", "/b/b.json").result_int() == 404);
    CHECK(request(b.port(), "GET", "/b/b.json").body() == "{\"b\":1}");
    a.stop();
    a.wait();
    CHECK(request(b.port(), "GET", "/a/model.json").result_int() == 404);  // b serves on after a stopped
    b.stop();
    b.wait();
    std::lock_guard g(m);
    CHECK(seen_a == std::vector<std::string>{"200 /a/model.json", "404 /b/b.json"});
    CHECK(seen_b == std::vector<std::string>{"200 /b/b.json", "404 /a/model.json"});
}

TEST_CASE("api: 100 start and stop cycles leave no descriptor or thread, and SIGPIPE, the signal mask and spdlog's default logger as they were") {
    struct sigaction before_pipe {};
    sigaction(SIGPIPE, nullptr, &before_pipe);
    REQUIRE(before_pipe.sa_handler == SIG_DFL);
    sigset_t mask_before, mask_after;
    pthread_sigmask(SIG_SETMASK, nullptr, &mask_before);
    auto* logger_before = spdlog::default_logger_raw();
    const std::size_t fds = count_entries("/proc/self/fd"), threads = count_entries("/proc/self/task");
    for (int i = 0; i < 100; ++i) {
        modelhost::Options o;
        o.threads = 1 + i % 3;
        modelhost::Server s(o);
        s.mount("/", modelhost_assets::demo());
        s.start();
        if (i % 10 == 0) CHECK(request(s.port(), "GET", "/model.json").result_int() == 200);
        if (i % 2 == 0) {
            s.stop();
            s.wait();
        }  // else the destructor stops it
    }
    CHECK(count_entries("/proc/self/fd") == fds);
    CHECK(count_entries("/proc/self/task") == threads);
    struct sigaction after_pipe {};
    sigaction(SIGPIPE, nullptr, &after_pipe);
    CHECK(after_pipe.sa_handler == SIG_DFL);
    pthread_sigmask(SIG_SETMASK, nullptr, &mask_after);
    CHECK(sigismember(&mask_after, SIGPIPE) == sigismember(&mask_before, SIGPIPE));
    CHECK(spdlog::default_logger_raw() == logger_before);
}

TEST_CASE("api: a peer that vanishes mid-download does not raise SIGPIPE in the app") {
    TempDir dir;
    dir.write("big.bin", std::string(8 << 20, 'x'));  // sent with sendfile(2), which raises SIGPIPE on a gone peer
    modelhost::Options o;
    o.threads = 2;
    modelhost::Server s(o);
    s.mount("/", dir.path().string());
    s.start();
    for (int i = 0; i < 20; ++i) {
        Client c(s.port());
        c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        linger hard{1, 0};  // RST on close: the server's next send fails with EPIPE/ECONNRESET
        ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    std::this_thread::sleep_for(200ms);
    CHECK(request(s.port(), "GET", "/big.bin", "Range: bytes=0-3\r\n").body() == "xxxx");  // (still alive)
}

TEST_CASE("api: stop honours its grace: a download in progress finishes within it, and is cut after it") {
    TempDir dir;
    const std::string big(24 << 20, 'm');
    dir.write("big.bin", big);
    modelhost::Server s;
    s.mount("/", dir.path().string());
    s.start();

    SECTION("the download finishes within the grace period") {
        Client c(s.port(), 20);
        c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        std::this_thread::sleep_for(100ms);  // under way, the socket buffers full
        const auto asked = std::chrono::steady_clock::now();
        s.stop(10s);
        std::this_thread::sleep_for(300ms);
        CHECK_THROWS(request(s.port(), "GET", "/big.bin"));  // no new connection once stopping
        auto r = c.read();
        CHECK(r.result_int() == 200);
        CHECK(r.body().size() == big.size());
        s.wait();
        CHECK(std::chrono::steady_clock::now() - asked < 5s);  // it ended when the download did, not at the grace
    }
    SECTION("a download still going when the grace runs out is closed") {
        Client c(s.port(), 20);
        c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        std::this_thread::sleep_for(100ms);  // the client reads nothing: the transfer stalls
        const auto asked = std::chrono::steady_clock::now();
        s.stop(400ms);
        s.wait();
        const auto took = std::chrono::steady_clock::now() - asked;
        CHECK(took >= 350ms);
        CHECK(took < 3s);
        CHECK(c.drain_to_eof() < big.size());
    }
}

TEST_CASE("api: assets mounted over a folder answer first, and the folder answers what they lack") {
    TempDir dir;
    dir.write("model.json", "{\"from\":\"disk\"}");
    dir.write("extra.json", "{\"only\":\"disk\"}");
    modelhost::Server s;
    s.mount("/m/", modelhost_assets::demo()).mount("/m/", dir.path().string());
    s.start();
    CHECK(request(s.port(), "GET", "/m/model.json").body() ==
          slurp(fsys::path(MODELHOST_SOURCE_DIR) / "models/demo/model.json"));
    CHECK(request(s.port(), "GET", "/m/extra.json").body() == "{\"only\":\"disk\"}");
    CHECK(request(s.port(), "GET", "/m/none.json").result_int() == 404);

    modelhost::Server t;  // the other order: the folder first
    t.mount("/m/", dir.path().string()).mount("/m/", modelhost_assets::demo());
    t.start();
    CHECK(request(t.port(), "GET", "/m/model.json").body() == "{\"from\":\"disk\"}");
    CHECK(request(t.port(), "GET", "/m/group1-shard1of2.bin").result_int() == 200);
}

TEST_CASE("api: an embedded asset answers 200, 304, 206, 416, 404 and its gzip twin exactly as the same file on disk") {
    TempDir dir;
    copy_fixture(dir);
    modelhost::Options o;
    o.etag = "content";  // an asset's ETag is its build-time SHA-256: the disk file's with server.etag "content"
    o.allow_origins = {"https://app.example"};
    modelhost::Server s(o);
    s.mount("/mem/", modelhost_assets::fixture()).mount("/disk/", dir.path().string());
    s.start();
    const std::string origin = "Origin: https://app.example\r\n";
    auto both = [&](const std::string& method, const std::string& path, const std::string& extra) {
        Response mem = request(s.port(), method, "/mem/" + path, extra);
        Response disk = request(s.port(), method, "/disk/" + path, extra);
        INFO(method << " " << path << " " << extra);
        CHECK(mem.result_int() == disk.result_int());
        CHECK(headers_of(mem) == headers_of(disk));
        CHECK(mem.body() == disk.body());
        return mem;
    };
    auto ok = both("GET", "data.json", origin);
    CHECK(ok.result_int() == 200);
    CHECK(ok["Access-Control-Allow-Origin"] == "https://app.example");
    const std::string etag(ok["ETag"]);
    CHECK(etag.size() == 34);  // "..." around 32 hex digits
    CHECK(both("GET", "data.json", origin + "If-None-Match: " + etag + "\r\n").result_int() == 304);
    CHECK(both("GET", "data.json", origin + "If-Modified-Since: " + std::string(ok["Last-Modified"]) + "\r\n").result_int() == 304);
    auto part = both("GET", "nested/weights.bin", origin + "Range: bytes=10-19\r\n");
    CHECK(part.result_int() == 206);
    CHECK(part["Content-Range"] == "bytes 10-19/3000");
    CHECK(both("GET", "nested/weights.bin", "Range: bytes=5000-\r\n").result_int() == 416);
    CHECK(both("GET", "nested/weights.bin", "If-Range: " + etag + "\r\nRange: bytes=0-0\r\n").result_int() == 200);
    CHECK(both("HEAD", "nested/weights.bin", origin).result_int() == 200);
    CHECK(both("GET", "nested/large.bin", origin).result_int() == 200);  // large: by sendfile from the program's file
    auto large_part = both("GET", "nested/large.bin", "Range: bytes=70000-70009\r\n");
    CHECK(large_part.body() == slurp(dir.path() / "nested/large.bin").substr(70000, 10));
    auto gz = both("GET", "data.json", "Accept-Encoding: gzip\r\n");
    CHECK(gz["Content-Encoding"] == "gzip");
    CHECK(gz.body() == slurp(dir.path() / "data.json.gz"));  // the twin, not a gzip made on the fly
    CHECK(both("GET", "missing.bin", origin).result_int() == 404);
    CHECK(both("OPTIONS", "data.json", origin + "Access-Control-Request-Method: GET\r\n").result_int() == 204);
}

TEST_CASE("api: embedded assets over HTTP/2 (h2c) answer ranges from memory") {
    modelhost::Options o;
    o.config_json = R"({"http2": {"cleartext": true}})";
    modelhost::Server s(o);
    s.mount("/", modelhost_assets::fixture());
    s.start();
    TempDir out;
    const std::string cmd = "curl -s --http2-prior-knowledge -o " + (out.path() / "part").string() +
                            " -w '%{http_version} %{http_code}' -H 'Range: bytes=100-1099' " + s.url() +
                            "nested/weights.bin > " + (out.path() / "status").string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(slurp(out.path() / "status") == "2 206");
    CHECK(slurp(out.path() / "part") == slurp(fsys::path(MODELHOST_API_FIXTURE) / "nested/weights.bin").substr(100, 1000));
    const std::string large = "curl -s --http2-prior-knowledge -o " + (out.path() / "large").string() + " -H 'Range: bytes=65536-' " +
                              s.url() + "nested/large.bin";
    REQUIRE(std::system(large.c_str()) == 0);
    CHECK(slurp(out.path() / "large") == slurp(fsys::path(MODELHOST_API_FIXTURE) / "nested/large.bin").substr(65536));
}

TEST_CASE("api: reload under load swaps CORS with no failed request") {
    modelhost::Options first;
    first.threads = 2;
    first.allow_origins = {"https://a.example"};
    modelhost::Options second = first;
    second.allow_origins = {"https://b.example"};
    modelhost::Server s(first);
    s.mount("/", modelhost_assets::demo());
    s.start();
    std::atomic<bool> done{false};
    std::atomic<int> answered{0}, failed{0}, allowed{0};
    auto load = [&] {
        while (!done) {
            try {
                Client c(s.port());
                for (int i = 0; i < 20 && !done; ++i) {
                    c.send("GET /model.json HTTP/1.1\r\nHost: x\r\nOrigin: https://b.example\r\n\r\n");
                    Response r = c.read();
                    if (r.result_int() != 200) ++failed;
                    if (r["Access-Control-Allow-Origin"] == "https://b.example") ++allowed;
                    ++answered;
                }
            } catch (const std::exception&) {
                ++failed;
            }
        }
    };
    std::thread one(load), two(load);
    for (int i = 0; i < 40; ++i) {
        std::this_thread::sleep_for(25ms);
        s.reload(i % 2 == 0 ? second : first);
    }
    done = true;
    one.join();
    two.join();
    CHECK(failed == 0);
    CHECK(answered > 100);
    CHECK(allowed > 0);
    CHECK(allowed < answered);  // both policies answered
    s.reload(second);
    auto r = request(s.port(), "GET", "/model.json", "Origin: https://b.example\r\n");
    CHECK(r["Access-Control-Allow-Origin"] == "https://b.example");
    modelhost::Options bad = second;
    bad.allow_origins = {"https://b.example/path"};
    std::string error;
    CHECK_FALSE(s.reload(bad, error));
    CHECK(error.find("cors.allow_origins") != std::string::npos);
    CHECK(request(s.port(), "GET", "/model.json", "Origin: https://b.example\r\n")["Access-Control-Allow-Origin"] == "https://b.example");
}

TEST_CASE("api: options take the binary's config format and give its validation messages") {
    auto o = modelhost::Options::from_json(R"({"cors": {"allow_origins": ["https://x.example"]}, "limits": {"max_connections": 5}})");
    CHECK(o.allow_origins == std::vector<std::string>{"https://x.example"});
    CHECK(o.port == 0);
    CHECK(o.threads == 1);
    CHECK(o.root.empty());
    try {
        modelhost::Options::from_json(R"({"server": {"port": 70000}})", "app.json");
        FAIL("no error");
    } catch (const modelhost::Error& e) {
        CHECK(std::string(e.what()).find("server.port") != std::string::npos);
        CHECK(std::string(e.what()).find("app.json") != std::string::npos);
    }
    CHECK_THROWS_AS(modelhost::Options::from_json("[1]"), modelhost::Error);
    CHECK_THROWS_AS(modelhost::Options::from_json(R"({"sever": {}})"), modelhost::Error);

    modelhost::Options bad;
    bad.allow_origins = {"https://x.example/"};
    modelhost::Server s(bad);
    std::string error;
    CHECK_FALSE(s.start(error));
    CHECK(error.find("cors.allow_origins") != std::string::npos);
    CHECK_THROWS_AS(s.mount("models", modelhost_assets::demo()), modelhost::Error);
    CHECK_THROWS_AS(s.mount("/a/../b/", modelhost_assets::demo()), modelhost::Error);

    TempDir dir;
    dir.write("config/app.json", R"({"server": {"root": "../models"}, "limits": {"max_connections": 5}})");
    dir.write("models/x.json", "{}");
    auto from_file = modelhost::Options::from_file((dir.path() / "config/app.json").string());
    CHECK(fsys::equivalent(from_file.root, dir.path() / "models"));  // relative to the file, as the binary takes it
    modelhost::Server t(from_file);
    t.start();
    CHECK(request(t.port(), "GET", "/x.json").result_int() == 200);
}

TEST_CASE("api: a port in use and a folder that cannot be opened are reported by start") {
    modelhost::Server first;
    first.start();
    modelhost::Options same;
    same.port = first.port();
    modelhost::Server second(same);
    std::string error;
    CHECK_FALSE(second.start(error));
    CHECK(error.find("already in use") != std::string::npos);
    modelhost::Server third;
    third.mount("/x/", "/nonexistent/modelhost");
    CHECK_THROWS_WITH(third.start(), Catch::Contains("/nonexistent/modelhost"));
}

TEST_CASE("api: TLS from PEM text serves HTTPS with HTTP/2, and the log callback hears the server") {
    TempDir dir;
    const std::string key = (dir.path() / "key.pem").string(), cert = (dir.path() / "cert.pem").string();
    const std::string make = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost -keyout " +
                             key + " -out " + cert + " 2>/dev/null";
    REQUIRE(std::system(make.c_str()) == 0);
    modelhost::Options o;
    o.tls.cert_pem = slurp(cert);
    o.tls.key_pem = slurp(key);
    std::mutex m;
    std::vector<std::string> lines;
    modelhost::Server s(o);
    s.mount("/", modelhost_assets::demo());
    s.on_log([&](modelhost::LogLevel, std::string_view line) {
        std::lock_guard g(m);
        lines.emplace_back(line);
    });
    s.start();
    CHECK(s.url().starts_with("https://127.0.0.1:"));
    const std::string cmd = "curl -sk --http2 -o /dev/null -w '%{http_version} %{http_code}' " + s.url() + "model.json > " +
                            (dir.path() / "status").string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(slurp(dir.path() / "status") == "2 200");
    s.stop();
    s.wait();
    std::lock_guard g(m);
    CHECK(std::any_of(lines.begin(), lines.end(), [](const auto& l) { return l.find("no longer accepting") != std::string::npos; }));

    modelhost::Options half;
    half.tls.cert_pem = o.tls.cert_pem;
    modelhost::Server h(half);
    CHECK_THROWS_WITH(h.start(), Catch::Contains("cert_pem and key_pem"));
}

TEST_CASE("api: a server stopped during a mirror's upstream transfer leaves no thread behind") {
    // An upstream that trickles a 1 MB file, 1 KB every 20 ms, on one connection.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor upstream(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    std::atomic<bool> done{false};
    std::thread trickle([&] {
        boost::system::error_code ec;
        auto peer = upstream.accept(ec);
        if (ec) return;
        char request[4096];
        peer.read_some(boost::asio::buffer(request), ec);
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\nContent-Type: application/octet-stream\r\n\r\n";
        boost::asio::write(peer, boost::asio::buffer(head), ec);
        const std::string kilo(1024, 'u');
        while (!ec && !done) {
            boost::asio::write(peer, boost::asio::buffer(kilo), ec);
            std::this_thread::sleep_for(20ms);
        }
    });
    const std::size_t threads = count_entries("/proc/self/task");
    {
        TempDir root;
        modelhost::Options o;
        o.root = root.path().string();
        o.config_json = R"({"mirrors": [{"path": "/hub/", "upstream": "http://127.0.0.1:)" +
                        std::to_string(upstream.local_endpoint().port()) + R"(/"}]})";
        modelhost::Server s(o);
        s.start();
        Client c(s.port());
        c.send("GET /hub/big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        std::this_thread::sleep_for(300ms);  // the transfer is under way, streaming to the client
        CHECK(count_entries("/proc/self/task") > threads + 1);
        const auto asked = std::chrono::steady_clock::now();
        s.stop(0ms);
        s.wait();
        CHECK(std::chrono::steady_clock::now() - asked < 3s);
    }
    CHECK(count_entries("/proc/self/task") == threads);  // (the trickling upstream is counted in both)
    done = true;
    trickle.join();
}
