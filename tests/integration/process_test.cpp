// The real binary: exit codes for bad config, graceful SIGTERM during a download, memory while streaming 1 GiB.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>
#include <atomic>
#include <iterator>
#include <regex>
#include <fstream>
#include <csignal>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

const std::string binary = MODELHOST_BINARY;

// A sparse file of `size` bytes: big on the wire, nothing on disk.
void make_sparse(const std::filesystem::path& p, std::uint64_t size) {
    int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
}

}  // namespace

TEST_CASE("the version and help options answer and exit 0", "[process]") {
    auto [code, out] = run_command({binary, "--version"});
    CHECK(code == 0);
    CHECK_THAT(out, Catch::StartsWith("modelhost "));
    auto [hcode, help] = run_command({binary, "serve", "--help"});
    CHECK(hcode == 0);
    for (const char* flag : {"--config", "--root", "--host", "--port", "--threads", "--allow-origin", "--log-level",
                             "MODELHOST_PORT", "MODELHOST_ALLOW_ORIGINS", "MODELHOST_CONFIG", "MODELHOST_IPV6_ONLY"})
        CHECK_THAT(help, Catch::Contains(flag));
}

TEST_CASE("bad configuration exits 2 with one message naming the key, flag or path", "[process]") {
    TempDir dir;
    auto unknown = dir.write("unknown.json", R"({"server": {"port": 0, "root": ")" + dir.path().string() + R"(", "colour": "blue"}})");
    auto [c1, o1] = run_command({binary, "--config", unknown.string()});
    CHECK(c1 == 2);
    CHECK_THAT(o1, Catch::Contains("server.colour: unknown key"));
    CHECK_THAT(o1, !Catch::Contains("serving"));

    auto [c2, o2] = run_command({binary, "serve", "--root", "/nonexistent/dir", "--port", "0"});
    CHECK(c2 == 2);
    CHECK_THAT(o2, Catch::Contains("server.root: \"/nonexistent/dir\""));

    auto [c3, o3] = run_command({binary, "--port", "http", "--root", dir.path().string()});
    CHECK(c3 == 2);
    CHECK_THAT(o3, Catch::Contains("--port: expected integer"));

    auto [c4, o4] = run_command({binary, "--root", dir.path().string(), "--port", "0"}, {"MODELHOST_THREADS=lots"});
    CHECK(c4 == 2);
    CHECK_THAT(o4, Catch::Contains("MODELHOST_THREADS"));

    auto [c5, o5] = run_command({binary, "frobnicate"});
    CHECK(c5 == 2);
    CHECK_THAT(o5, Catch::Contains("unknown command"));
}

TEST_CASE("a port already in use exits 2 naming server.port", "[process]") {
    TempDir dir;
    TestServer occupant(dir.path());
    auto [code, out] = run_command({binary, "--root", dir.path().string(), "--port", std::to_string(occupant.port())});
    CHECK(code == 2);
    CHECK_THAT(out, Catch::Contains("server.port"));
    CHECK_THAT(out, Catch::Contains("already in use"));
}

TEST_CASE("SIGTERM during a large download lets it complete, refuses new connections, then exits 0", "[process][slow]") {
    TempDir dir;
    const std::uint64_t size = 1ull << 30;
    make_sparse(dir.path() / "big.bin", size);
    Process server({binary, "--root", dir.path().string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);

    Client download(port, 60);
    download.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.signal(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK_THROWS(Client(port, 1));  // the listener is closed

    std::uint64_t received = download.drain_to_eof();
    CHECK(received > size);  // headers + every body byte, then the server closes (Connection: close while draining)
    auto code = server.wait(std::chrono::seconds(5));  // well inside the 10 s shutdown_timeout
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK_THAT(server.output(), Catch::Contains("SIGTERM"));
    CHECK_THAT(server.output(), Catch::Contains("\"GET /big.bin HTTP/1.1\" 200 1073741824"));
}

TEST_CASE("streaming a 1 GiB file keeps the server's memory flat", "[process][slow]") {
    TempDir dir;
    const std::uint64_t size = 1ull << 30;
    make_sparse(dir.path() / "big.bin", size);
    Process server({binary, "--root", dir.path().string(), "--port", "0", "--threads", "2"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    request(port, "GET", "/missing");  // warm up the request path
    long before = server.status_kb("VmRSS");

    Client c(port, 60);
    c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::uint64_t received = c.drain_to_eof();
    CHECK(received > size);
    long peak = server.status_kb("VmHWM");
    INFO("RSS before " << before << " kB, peak " << peak << " kB");
    CHECK(peak - before < 50 * 1024);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

TEST_CASE("compress writes smaller br and gz sidecars for compressible files only, and serve sends them", "[process][compress]") {
    TempDir dir;
    std::string json = "{\"weightsManifest\": [" + std::string(3000, ' ') + "]}";
    dir.write("m/model.json", json);
    dir.write("m/group1-shard1of1.bin", std::string(3000, '\x07'));
    dir.write("m/.hidden.json", json);
    dir.write("m/tiny.txt", "a");
    auto [code, out] = run_command({binary, "compress", dir.path().string()});
    CHECK(code == 0);
    CHECK(std::filesystem::exists(dir.path() / "m/model.json.br"));
    CHECK(std::filesystem::exists(dir.path() / "m/model.json.gz"));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "m/group1-shard1of1.bin.gz"));  // not a compressible type
    CHECK_FALSE(std::filesystem::exists(dir.path() / "m/.hidden.json.gz"));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "m/tiny.txt.gz"));  // would not shrink
    CHECK_THAT(out, Catch::Contains("would not be smaller"));
    CHECK(std::filesystem::file_size(dir.path() / "m/model.json.br") < json.size());

    auto [again, out2] = run_command({binary, "compress", dir.path().string()});
    CHECK(again == 0);
    CHECK_THAT(out2, Catch::Contains("0 sidecar(s) written"));

    TestServer s(dir.path());
    auto r = request(s.port(), "GET", "/m/model.json", "Accept-Encoding: br\r\n");
    CHECK(r[bhttp::field::content_encoding] == "br");
    CHECK(r.body().size() == std::filesystem::file_size(dir.path() / "m/model.json.br"));

    auto [bad, usage] = run_command({binary, "compress", "/nonexistent"});
    CHECK(bad == 2);
}

TEST_CASE("check passes the real face models and names a truncated shard with both byte counts", "[process][check]") {
    const std::filesystem::path assets = std::filesystem::path(MODELHOST_SOURCE_DIR) / "tests/browser/assets/models";
    REQUIRE(std::filesystem::exists(assets / "face_mesh/model.json"));  // unpacked by tests/browser/setup.sh
    TempDir dir;
    std::filesystem::copy(assets / "face_mesh", dir.path() / "face_mesh");
    std::filesystem::copy(assets / "face_detection_short", dir.path() / "face_detection_short");
    auto [ok, table] = run_command({binary, "check", dir.path().string()});
    CHECK(ok == 0);
    CHECK_THAT(table, Catch::Contains("face_mesh"));
    CHECK_THAT(table, Catch::Contains("graph-model"));

    auto shard = dir.path() / "face_mesh/facemesh.bin";
    auto full = std::filesystem::file_size(shard);
    std::filesystem::resize_file(shard, full - 1000);
    auto [broken, report] = run_command({binary, "check", dir.path().string()});
    CHECK(broken == 1);
    CHECK_THAT(report, Catch::Contains("face_mesh: group 0 shard facemesh.bin: holds " + std::to_string(full - 1000) +
                                       " bytes, the manifest needs " + std::to_string(full)));
    auto [j, json] = run_command({binary, "check", dir.path().string(), "--json"});
    CHECK(j == 1);
    CHECK_THAT(json, Catch::Contains("\"status\": \"broken\""));
    auto [usage, _] = run_command({binary, "check"});
    CHECK(usage == 2);
}

TEST_CASE("check lists a model.json cut to its first 40 bytes as broken beside a good model, and exits 1", "[process][check]") {
    const std::filesystem::path assets = std::filesystem::path(MODELHOST_SOURCE_DIR) / "tests/browser/assets/models";
    REQUIRE(std::filesystem::exists(assets / "face_mesh/model.json"));  // unpacked by tests/browser/setup.sh
    TempDir dir;
    std::filesystem::copy(assets / "face_detection_short", dir.path() / "face_detection_short");
    std::filesystem::create_directories(dir.path() / "face");
    std::filesystem::copy_file(assets / "face_mesh/model.json", dir.path() / "face/model.json");
    std::filesystem::resize_file(dir.path() / "face/model.json", 40);  // an interrupted copy
    auto [code, table] = run_command({binary, "check", dir.path().string()});
    CHECK(code == 1);
    CHECK_THAT(table, Catch::Contains("face_detection_short"));
    CHECK_THAT(table, Catch::Contains("face/model.json: not valid JSON: it ends inside a value at byte 40 (cut short?)"));
}

TEST_CASE("20 reloads under load, one of them invalid: no request fails and the valid policy is in force", "[process][reload]") {
    TempDir dir;
    dir.write("a.json", "{}");
    const std::string a = "https://a.example", b = "https://b.example";
    auto write_config = [&](const std::string& body) {  // replaced by a rename, as editors and deploy tools do
        dir.write("next.json", body);
        std::filesystem::rename(dir.path() / "next.json", dir.path() / "c.json");
    };
    auto allowing = [](const std::string& origin) {
        return R"({"cors": {"allow_origins": [")" + origin + R"("]}, "limits": {"max_requests_per_connection": 100000000}})";
    };
    write_config(allowing(a));
    Process server({binary, "--config", (dir.path() / "c.json").string(), "--root", dir.path().string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);

    std::atomic<bool> stop{false};
    std::atomic<int> failures{0}, answered{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 50; ++t)  // 50 keep-alive connections busy throughout
        load.emplace_back([&, t] {
            try {
                Client c(port);
                while (!stop) {
                    c.send("GET /a.json HTTP/1.1\r\nHost: x\r\nOrigin: " + (t % 2 ? a : b) + "\r\n\r\n");
                    if (c.read().result_int() != 200) ++failures;
                    ++answered;
                }
            } catch (...) {
                ++failures;
            }
        });
    auto allowed_origin = [&](const std::string& origin) {
        auto r = request(port, "GET", "/a.json", "Origin: " + origin + "\r\n");
        return std::string(r[bhttp::field::access_control_allow_origin]);
    };
    std::string in_force = a;
    for (int i = 1; i <= 20; ++i) {
        bool broken = i == 11;
        std::string next = i % 2 ? b : a;
        write_config(broken ? "{ \"cors\": { \"allow_origins\": [\"not an origin\"] } }" : allowing(next));
        server.signal(SIGHUP);
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        if (!broken) in_force = next;
        INFO("reload " << i);
        CHECK(allowed_origin(in_force) == in_force);  // the next requests see the reloaded policy
        CHECK(allowed_origin(in_force == a ? b : a).empty());
    }
    stop = true;
    for (auto& t : load) t.join();
    CHECK(failures == 0);
    CHECK(answered > 1000);
    std::string out = server.output();
    auto count = [&](const std::string& text) {
        std::size_t n = 0;
        for (auto at = out.find(text); at != std::string::npos; at = out.find(text, at + 1)) ++n;
        return n;
    };
    CHECK(count("reloaded the configuration") == 19);
    CHECK(count("reload refused, still serving the previous configuration") == 1);
    CHECK_THAT(out, Catch::Contains("\"not an origin\""));  // the refusal says why, as serve would
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

TEST_CASE("modelhost reload finds the server by its pid file and reports whether the reload was taken", "[process][reload]") {
    TempDir dir;
    dir.write("a.json", "{}");
    const std::string pid_file = (dir.path() / "modelhost.pid").string();
    auto write_config = [&](const std::string& origin) {
        dir.write("c.json", R"({"server": {"pid_file": ")" + pid_file + R"(", "root": ")" + dir.path().string() +
                                R"("}, "cors": {"allow_origins": [")" + origin + R"("]}})");
    };
    write_config("https://a.example");
    Process server({binary, "--config", (dir.path() / "c.json").string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    REQUIRE(std::filesystem::exists(pid_file));
    CHECK(std::to_string(server.pid()) + "\n" == [&] { std::ifstream in(pid_file); return std::string(std::istreambuf_iterator<char>(in), {}); }());
    // reload reads the same configuration; the port comes from the environment, as it would in a deployment
    std::vector<std::string> env{"MODELHOST_CONFIG=" + (dir.path() / "c.json").string(), "MODELHOST_PORT=" + std::to_string(port)};
    write_config("https://b.example");
    auto [ok, taken] = run_command({binary, "reload"}, env);
    CHECK(ok == 0);
    CHECK_THAT(taken, Catch::Contains("reloaded: configuration generation 2 is in force"));
    write_config("not an origin");
    auto [refused, why] = run_command({binary, "reload"}, env);
    CHECK(refused == 1);
    CHECK_THAT(why, Catch::Contains("refused: the server keeps its previous configuration"));
    auto [none, usage] = run_command({binary, "reload"}, {"MODELHOST_ROOT=" + dir.path().string()});
    CHECK(none == 2);
    CHECK_THAT(usage, Catch::Contains("server.pid_file is not set"));
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    CHECK_FALSE(std::filesystem::exists(pid_file));
}

TEST_CASE("a reload changes what can change and names what needs a restart", "[process][reload]") {
    TempDir dir;
    dir.write("a.json", "{}");
    dir.write("c.json", R"({"headers": {"X-Edition": "one"}})");
    Process server({binary, "--config", (dir.path() / "c.json").string(), "--root", dir.path().string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    Client old_connection(port);
    old_connection.send("GET /a.json HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(old_connection.read()["X-Edition"] == "one");
    dir.write("c.json", R"({"headers": {"X-Edition": "two"}, "server": {"threads": 3}, "limits": {"header_timeout": 3},
                           "log": {"format": "json"}})");
    server.signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    old_connection.send("GET /a.json HTTP/1.1\r\nHost: x\r\n\r\n");  // a connection from before the reload stays open
    CHECK(old_connection.read()["X-Edition"] == "two");
    CHECK(request(port, "GET", "/a.json")["X-Edition"] == "two");
    std::string out = server.output();
    CHECK_THAT(out, Catch::Contains("server.threads changed; it takes effect at the next restart"));
    CHECK_THAT(out, Catch::Contains("limits.header_timeout changed; it takes effect at the next restart"));
    CHECK_THAT(out, Catch::Contains(R"("msg":"reloaded the configuration (generation 2))"));  // log.format applied
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

// The mirrors store under the root they started with (restart-only): a reload naming another root keeps it, or every
// mirrored file would be looked for where the mirror never wrote it (404 for a file the upstream has).
TEST_CASE("with mirrors, a reload keeps server.root until the next restart and the mirrored files stay served", "[process][reload][mirror]") {
    CannedServer upstream({{"/m/a.bin", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"}},
                          "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    TempDir dir, other;
    dir.write("a.json", "{}");
    auto config = [&](const TempDir& root) {
        return R"({"server": {"root": ")" + root.path().string() + R"("}, "mirrors": [{"path": "/hub/", "upstream": ")" +
               upstream.base() + R"(/"}]})";
    };
    dir.write("c.json", config(dir));
    Process server({binary, "--config", (dir.path() / "c.json").string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    CHECK(request(port, "GET", "/hub/m/a.bin").body() == "hello");
    dir.write("c.json", config(other));
    server.signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string out = server.output();
    CHECK_THAT(out, Catch::Contains("server.root changed; it takes effect at the next restart"));
    CHECK_THAT(out, Catch::Contains("reloaded the configuration (generation 2)"));
    auto stored = request(port, "GET", "/hub/m/a.bin");
    CHECK(stored.result_int() == 200);
    CHECK(stored.body() == "hello");
    CHECK(request(port, "GET", "/a.json").result_int() == 200);  // the files outside the mirror: the same root
    CHECK(upstream.targets().size() == 1);                         // served as stored, not fetched again
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

TEST_CASE("health probes a running server from its environment and fails when none answers", "[process][health]") {
    TempDir dir;
    Process server({binary, "--root", dir.path().string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    auto [ok, out] = run_command({binary, "health"}, {"MODELHOST_ROOT=" + dir.path().string(), "MODELHOST_PORT=" + std::to_string(port)});
    CHECK(ok == 0);
    CHECK_THAT(out, Catch::Contains("/.modelhost/healthz: 200 ok"));
    auto [explicit_url, _] = run_command({binary, "health", "--url", "http://127.0.0.1:" + std::to_string(port) + "/.modelhost/readyz"});
    CHECK(explicit_url == 0);
    auto [missing, why] = run_command({binary, "health", "--url", "http://127.0.0.1:" + std::to_string(port) + "/nothing"});
    CHECK(missing == 1);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    auto [down, refused] = run_command({binary, "health", "--url", "http://127.0.0.1:" + std::to_string(port) + "/.modelhost/healthz"});
    CHECK(down == 1);
    CHECK_THAT(refused, Catch::Contains("refused"));
}

TEST_CASE("health speaks HTTPS to a TLS server, trusting the configured certificate whatever its name", "[process][health][tls]") {
    TempDir dir;
    // Self-signed for a name the probe never uses (127.0.0.1), as a deployment behind a public name has.
    auto [made, why] = run_command({"/bin/sh", "-c", "cd '" + dir.path().string() + "' && openssl req -x509 -newkey rsa:2048 "
                                    "-nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=models.example.com "
                                    "-addext subjectAltName=DNS:models.example.com"});
    REQUIRE(made == 0);
    auto config = dir.write("c.json", R"({"tls": {"cert_file": "cert.pem", "key_file": "key.pem"}})");
    Process server({binary, "--config", config.string(), "--root", dir.path().string(), "--port", "0"});
    auto port = std::to_string(server.wait_for_port());
    // The root the probing environment names does not exist there: health never looks at it.
    std::vector<std::string> env{"MODELHOST_CONFIG=" + config.string(), "MODELHOST_PORT=" + port, "MODELHOST_ROOT=/nonexistent"};
    auto [ok, out] = run_command({binary, "health"}, env);
    CHECK(ok == 0);
    CHECK_THAT(out, Catch::Contains("https://127.0.0.1:" + port + "/.modelhost/healthz: 200 ok"));
    auto [given, _] = run_command({binary, "health", "--url", "https://127.0.0.1:" + port + "/.modelhost/readyz"}, env);
    CHECK(given == 0);
    auto [by_flag, __] = run_command({binary, "health", "--config", config.string(), "--url", "https://127.0.0.1:" + port + "/.modelhost/healthz"});
    CHECK(by_flag == 0);
    // Without the configuration the certificate is just an unknown self-signed one.
    auto [stranger, refused] = run_command({binary, "health", "--url", "https://127.0.0.1:" + port + "/.modelhost/healthz"});
    CHECK(stranger == 1);
    CHECK_THAT(refused, Catch::Contains("certificate verify failed"));
    auto [plain, ___] = run_command({binary, "health", "--url", "http://127.0.0.1:" + port + "/.modelhost/healthz"});
    CHECK(plain == 1);
    auto [bad, usage] = run_command({binary, "health", "--url", "ftp://127.0.0.1/"});
    CHECK(bad == 2);
    CHECK_THAT(usage, Catch::Contains("is not an http:// or https:// URL"));
}

TEST_CASE("start-up warns about a root without models and about a route wider than the top level", "[process]") {
    TempDir dir;
    auto config = dir.write("c.json", R"({"cors": {"allow_origins": ["https://app.example.com"]},
                                          "routes": [{"path": "/pub/**", "cors": {"allow_origins": ["*"]}}]})");
    std::filesystem::create_directories(dir.path() / "empty/v1/models");
    Process server({binary, "--config", config.string(), "--root", (dir.path() / "empty").string(), "--port", "0"});
    REQUIRE(server.wait_for_port() != 0);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    CHECK_THAT(server.output(), Catch::Contains("holds no model (TF.js, ONNX, transformers.js, MediaPipe, TFLite, WebLLM) and no runtime package"));
    CHECK_THAT(server.output(), Catch::Contains("server.root holds v1/models, which is never served"));
    CHECK_THAT(server.output(), Catch::Contains("routes[0].cors.allow_origins: \"*\" allows every origin where the top level allows a list"));
}

TEST_CASE("every command answers a usage mistake the same way, with exit 2", "[process][args]") {
    TempDir dir;
    struct Case {
        std::vector<std::string> argv;
        std::string says;
    };
    for (const Case& c : std::vector<Case>{
             {{"serve", "--verbose"}, "modelhost serve: unknown option --verbose (see modelhost serve --help)"},
             {{"--versio"}, "unknown option --versio (see modelhost serve --help)"},
             {{"serve", "--port"}, "--port needs a value"},
             {{"check"}, "missing DIR"},
             {{"check", "--jsn", dir.path().string()}, "unknown option --jsn (see modelhost check --help)"},
             {{"compress"}, "missing DIR"},
             {{"doctor", "ftp://x/model.json", "--origin", "http://a.test"}, "must be an http:// or https:// URL"},
             {{"doctor", "http://x/model.json", "--origin"}, "--origin needs a value"},
             {{"doctor", "http://x/model.json", "--origin", "app.example.com"}, "--origin \"app.example.com\" is not an origin"},
             {{"doctor", "http://x/model.json", "--origin", "http://a.test", "--every", "0"}, "is not a duration"},
             {{"fetch", "http://x/model.json", "--concurrency", "0"}, "--concurrency must be a whole number from 1 to 64"},
             {{"fetch", "http://x/m.json", "http://y/m.json"}, "unexpected argument"},
             {{"health", "--url"}, "--url needs a value"},
         }) {
        std::vector<std::string> argv{binary};
        argv.insert(argv.end(), c.argv.begin(), c.argv.end());
        auto [code, out] = run_command(argv);
        INFO(out);
        CHECK(code == 2);
        CHECK_THAT(out, Catch::Contains(c.says));
    }
    auto [v, version] = run_command({binary, "-v"});
    CHECK(v == 0);
    CHECK_THAT(version, Catch::StartsWith("modelhost "));
}

TEST_CASE("with log.format json every line the server prints is one JSON object, levels spelt as configured", "[process][log]") {
    TempDir dir;
    dir.write("m/model.json", "{\"weightsManifest\": 7}");  // a broken model: a warning at start-up
    auto config = dir.write("c.json", R"({"log": {"format": "json"}})");
    Process server({binary, "--config", config.string(), "--root", dir.path().string(), "--port", "0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    request(port, "GET", "/m/model.json", "Origin: \"quoted\\\r\n");
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    std::istringstream lines(server.output());
    int count = 0, warnings = 0, access = 0;
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        auto doc = nlohmann::json::parse(line, nullptr, false);
        REQUIRE_FALSE(doc.is_discarded());
        REQUIRE(doc.is_object());
        ++count;
        if (doc.value("level", "") == "warn") ++warnings;
        if (doc.value("type", "") == "access") ++access;
    }
    CHECK(count >= 4);
    CHECK(warnings >= 1);
    CHECK(access == 1);
}

TEST_CASE("the deploy files, Dockerfile and README name one image tag, defined volumes and only variables --help lists", "[process][docs]") {
    const std::filesystem::path source = MODELHOST_SOURCE_DIR;
    auto [code, help] = run_command({binary, "serve", "--help"});
    REQUIRE(code == 0);
    auto slurp = [](const std::filesystem::path& p) {
        std::ifstream in(p);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    std::vector<std::filesystem::path> files{source / "README.md", source / "Dockerfile"};
    for (const auto& e : std::filesystem::recursive_directory_iterator(source / "deploy"))
        if (e.is_regular_file()) files.push_back(e.path());
    std::string pvcs;
    for (const auto& f : files)
        if (slurp(f).find("kind: PersistentVolumeClaim") != std::string::npos) pvcs += slurp(f);
    const std::regex variable(R"(MODELHOST_[A-Z0-9_]*[A-Z0-9])"), image(R"(image: *([^ \n]+))"), claim(R"(claimName: *([a-z0-9-]+))");
    for (const auto& f : files) {
        std::string text = slurp(f);
        INFO(f.string());
        for (std::sregex_iterator m(text.begin(), text.end(), variable), end; m != end; ++m) {
            std::string name = (*m)[0];
            if (name.starts_with("MODELHOST_PORT_")) continue;  // the README's example of what Kubernetes injects
            CHECK_THAT(help, Catch::Contains(name + " "));
        }
        for (std::sregex_iterator m(text.begin(), text.end(), image), end; m != end; ++m) CHECK((*m)[1] == "modelhost:latest");
        for (std::sregex_iterator m(text.begin(), text.end(), claim), end; m != end; ++m)
            CHECK_THAT(pvcs, Catch::Contains("name: " + std::string((*m)[1])));
    }
}
