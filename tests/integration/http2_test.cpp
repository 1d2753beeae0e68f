// HTTP/2 (RFC 9113): the same answers as HTTP/1.1 through one pipeline, over TLS by ALPN and over cleartext h2c;
// many streams on one connection; large bodies byte-exact with flat memory; hostile clients cut off without
// costing other clients anything; graceful GOAWAY on SIGTERM. Clients: Debian's curl, h2load and python3-h2.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace modelhost::test;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::string h2_client = std::string(MODELHOST_SOURCE_DIR) + "/tests/integration/h2_client.py";

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::string out(n, '\0');
    std::mt19937 rng(seed);
    for (auto& c : out) c = static_cast<char>(rng());
    return out;
}

// A root with a small model, a binary shard and a 4 MB file.
struct ModelRoot {
    TempDir dir;
    std::string shard = random_bytes(3000, 1), big = random_bytes(4 << 20, 2);
    ModelRoot() {
        dir.write("m/model.json", R"({"format": "graph-model", "weightsManifest": [{"paths": ["shard.bin"], "weights": []}]})");
        dir.write("m/shard.bin", shard);
        dir.write("m/big.bin", big);
    }
};

std::string tls_config(const TestPki& pki, const std::string& more = "") {
    return R"({"tls": {"cert_file": ")" + pki.path("server.pem") + R"(", "key_file": ")" + pki.path("server.key") +
           R"("}, "cors": {"allow_origins": ["https://app.example"]}, "limits": {"max_body_bytes": 1000})" + more + "}";
}

const std::string h2c_config =
    R"({"http2": {"cleartext": true}, "cors": {"allow_origins": ["https://app.example"]}, "limits": {"max_body_bytes": 1000}})";

// One curl exchange: the status and the header fields as a sorted list of lower-case "name: value" lines (less Date
// and the HTTP/1.1 connection fields, which HTTP/2 never sends), and the body.
struct Seen {
    int exit_code = 0;
    std::string version;  // curl's %{http_version}: "1.1", "2"
    std::string status;
    std::vector<std::string> fields;
    std::string body;
    std::string log;
};

Seen curl(const std::vector<std::string>& protocol_args, const std::string& url, const std::vector<std::string>& args,
          const TempDir& scratch) {
    const auto head = (scratch.path() / "head").string(), body = (scratch.path() / "body").string();
    std::filesystem::remove(head);
    std::filesystem::remove(body);
    std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--max-time", "20", "--path-as-is", "-D", head, "-o", body,
                                  "-w", "%{http_version}"};
    argv.insert(argv.end(), protocol_args.begin(), protocol_args.end());
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    Seen seen;
    std::tie(seen.exit_code, seen.log) = run_command(argv);
    seen.version = seen.log.substr(0, seen.log.find_first_not_of("0123456789."));
    seen.body = slurp(body);
    std::istringstream lines(slurp(head));
    std::string line;
    // With HEAD or 1xx several heads may be written: keep the last.
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.starts_with("HTTP/")) {
            seen.status = line.substr(line.find(' ') + 1, 3);
            seen.fields.clear();
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        if (name == "date" || name == "connection" || name == "keep-alive") continue;
        seen.fields.push_back(name + ":" + line.substr(colon + 1));
    }
    std::sort(seen.fields.begin(), seen.fields.end());
    return seen;
}

}  // namespace

TEST_CASE("HTTP/2 over TLS and h2c answers every status with the same headers and body as HTTP/1.1", "[http2]") {
    TestPki pki;
    ModelRoot root;
    TempDir scratch;
    scratch.write("upload", std::string(5000, 'x'));
    TestServer tls(root.dir.path(), tls_config(pki));
    TestServer plain(root.dir.path(), h2c_config);
    const std::string https = "https://127.0.0.1:" + std::to_string(tls.port());
    const std::string h2c = "http://127.0.0.1:" + std::to_string(plain.port());
    const std::string allowed = "Origin: https://app.example";

    struct Case {
        const char* what;
        std::string path;
        std::vector<std::string> args;
        const char* status;
    };
    const std::vector<Case> cases{
        {"file, allowed origin", "/m/model.json", {"-H", allowed}, "200"},
        {"HEAD (curl -I)", "/m/model.json", {"-I", "-H", allowed}, "200"},
        {"refused origin", "/m/model.json", {"-H", "Origin: https://evil.example"}, "200"},
        {"revalidation", "/m/model.json", {"-H", "If-None-Match: *", "-H", allowed}, "304"},
        {"gzip", "/m/model.json", {"-H", "Accept-Encoding: gzip"}, "200"},
        {"range", "/m/shard.bin", {"-H", "Range: bytes=10-99", "-H", allowed}, "206"},
        {"unsatisfiable range", "/m/shard.bin", {"-H", "Range: bytes=999999-"}, "416"},
        {"missing file", "/m/missing.bin", {"-H", allowed}, "404"},
        {"escape", "/m/%2e%2e/%2e%2e/etc/passwd", {}, "400"},
        {"target over 8 KiB", "/m/" + std::string(9000, 'a'), {"-H", allowed}, "414"},
        {"method", "/m/model.json", {"-X", "DELETE", "-H", allowed}, "405"},
        {"preflight", "/m/model.json",
         {"-X", "OPTIONS", "-H", allowed, "-H", "Access-Control-Request-Method: GET"}, "204"},
        {"refused preflight", "/m/model.json",
         {"-X", "OPTIONS", "-H", "Origin: https://evil.example", "-H", "Access-Control-Request-Method: GET"}, "403"},
        {"health", "/.modelhost/healthz", {}, "200"},
        {"catalog", "/v1/models", {"-H", allowed}, "200"},
        {"header over limits.max_header_bytes", "/m/model.json", {"-H", "X-Big: " + std::string(20000, 'a'), "-H", allowed}, "431"},
        {"body over limits.max_body_bytes", "/m/model.json",
         {"--data-binary", "@" + (scratch.path() / "upload").string(), "-H", "Expect:", "-H", allowed}, "413"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            Seen one = curl({"--http1.1", "--cacert", pki.path("ca.pem")}, https + c.path, c.args, scratch);
            Seen two = curl({"--http2", "--cacert", pki.path("ca.pem")}, https + c.path, c.args, scratch);
            Seen clear = curl({"--http2-prior-knowledge"}, h2c + c.path, c.args, scratch);
            INFO(one.log << two.log << clear.log);
            CHECK(one.version == "1.1");
            CHECK(two.version == "2");
            CHECK(clear.version == "2");
            CHECK(one.status == c.status);
            CHECK(two.status == c.status);
            CHECK(clear.status == c.status);
            CHECK(two.fields == one.fields);
            CHECK(clear.fields == one.fields);
            if (c.args.empty() || c.args.front() != "-I") {  // curl -I writes the head where the body would go
                CHECK((two.body == one.body));  // (not expanded: binary)
                CHECK((clear.body == one.body));
            }
        }
    }
}

TEST_CASE("h2 is offered by ALPN unless http2.enabled is false, and h2c is accepted only with http2.cleartext", "[http2]") {
    TestPki pki;
    ModelRoot root;
    TempDir scratch;
    {
        TestServer off(root.dir.path(), tls_config(pki, R"(, "http2": {"enabled": false})"));
        auto seen = curl({"--http2", "--cacert", pki.path("ca.pem")}, "https://127.0.0.1:" + std::to_string(off.port()) + "/m/model.json", {}, scratch);
        CHECK(seen.status == "200");
        CHECK(seen.version == "1.1");
    }
    TestServer plain(root.dir.path());  // cleartext h2c is off by default
    const std::string url = "http://127.0.0.1:" + std::to_string(plain.port()) + "/m/model.json";
    auto refused = curl({"--http2-prior-knowledge"}, url, {}, scratch);
    CHECK(refused.exit_code != 0);  // the preface is not an HTTP/1.1 request: 400, which is no HTTP/2 frame
    auto http1 = curl({"--http1.1"}, url, {}, scratch);
    CHECK(http1.status == "200");
}

TEST_CASE("at limits.max_connections an h2 client gets GOAWAY REFUSED_STREAM and an HTTP/1.1 client 503", "[http2][hostile]") {
    TestPki pki;
    ModelRoot root;
    TempDir scratch;
    TestServer tls(root.dir.path(), R"({"tls": {"cert_file": ")" + pki.path("server.pem") + R"(", "key_file": ")" +
                                        pki.path("server.key") + R"("}, "limits": {"max_connections": 1}})");
    Client holder(tls.port(), 10);  // takes the one place (a TLS handshake that never starts)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto [code, out] = run_command({"/usr/bin/python3", h2_client, "refused", std::to_string(tls.port()), pki.path("ca.pem")});
    INFO(out);
    CHECK(code == 0);
    auto http1 = curl({"--http1.1", "--cacert", pki.path("ca.pem")}, "https://127.0.0.1:" + std::to_string(tls.port()) + "/m/model.json", {}, scratch);
    CHECK(http1.status == "503");
}

TEST_CASE("many streams on one HTTP/2 connection all succeed (h2load)", "[http2]") {
    TestPki pki;
    ModelRoot root;
    TestServer tls(root.dir.path(), tls_config(pki));
    auto [code, out] = run_command({"/usr/bin/h2load", "-n", "3000", "-c", "1", "-m", "100",
                                    "https://127.0.0.1:" + std::to_string(tls.port()) + "/m/shard.bin"});
    INFO(out);
    REQUIRE(code == 0);
    CHECK_THAT(out, Catch::Contains("Application protocol: h2"));
    CHECK_THAT(out, Catch::Contains("3000 succeeded, 0 failed, 0 errored"));
    CHECK_THAT(out, Catch::Contains("status codes: 3000 2xx"));
}

TEST_CASE("a 4 MB file arrives byte-exact over h2 and h2c, whole and as ranges, many at once", "[http2]") {
    TestPki pki;
    ModelRoot root;
    TempDir scratch;
    TestServer tls(root.dir.path(), tls_config(pki));
    TestServer plain(root.dir.path(), h2c_config);
    auto out = [&](const std::string& name) { return (scratch.path() / name).string(); };
    const std::string https = "https://127.0.0.1:" + std::to_string(tls.port()) + "/m/big.bin";
    // Five transfers multiplexed on one TLS connection (curl --parallel; --next gives each range its own options).
    const std::vector<std::string> h2{"--http2", "--cacert", pki.path("ca.pem")};
    std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--fail", "--max-time", "30", "--parallel", "-w", "%{num_connects} "};
    argv.insert(argv.end(), h2.begin(), h2.end());
    for (const auto& a : {https, std::string("-o"), out("whole0"), https, std::string("-o"), out("whole1"), https,
                          std::string("-o"), out("whole2"), std::string("--next")})
        argv.push_back(a);
    argv.insert(argv.end(), h2.begin(), h2.end());
    for (const auto& a : {std::string("-r"), std::string("1000000-1999999"), https, std::string("-o"), out("middle"),
                          std::string("--next")})
        argv.push_back(a);
    argv.insert(argv.end(), h2.begin(), h2.end());
    for (const auto& a : {std::string("-r"), std::string("4000000-"), https, std::string("-o"), out("tail")}) argv.push_back(a);
    auto [code, log] = run_command(argv);
    INFO(log);
    REQUIRE(code == 0);
    CHECK(log.find("1 ") != std::string::npos);  // one connection made, the other transfers joined it
    CHECK(std::count(log.begin(), log.end(), '0') >= 4);
    for (const char* name : {"whole0", "whole1", "whole2"}) CHECK((slurp(out(name)) == root.big));
    CHECK((slurp(out("middle")) == root.big.substr(1000000, 1000000)));
    CHECK((slurp(out("tail")) == root.big.substr(4000000)));

    // h2c: one transfer per curl (Debian's curl 7.88.1 cannot reuse an h2c prior-knowledge connection, curl#10634;
    // h2load above multiplexes h2c-equivalent streams over TLS).
    const std::string h2c = "http://127.0.0.1:" + std::to_string(plain.port()) + "/m/big.bin";
    auto [c1, l1] = run_command({"/usr/bin/curl", "-sS", "--fail", "--http2-prior-knowledge", "-o", out("clear"), h2c});
    auto [c2, l2] = run_command({"/usr/bin/curl", "-sS", "--fail", "--http2-prior-knowledge", "-r", "123-", "-o", out("clear-range"), h2c});
    INFO(l1 << l2);
    CHECK(c1 == 0);
    CHECK(c2 == 0);
    CHECK((slurp(out("clear")) == root.big));
    CHECK((slurp(out("clear-range")) == root.big.substr(123)));
}

TEST_CASE("hostile HTTP/2 clients are cut off while a normal client is served without a failure", "[http2][hostile]") {
    ModelRoot root;
    TestServer plain(root.dir.path(), h2c_config);
    const std::string port = std::to_string(plain.port());
    std::atomic<bool> attacking{true};
    std::atomic<int> served{0}, failed{0};
    std::thread normal([&] {
        while (attacking.load()) {
            auto [code, out] = run_command({"/usr/bin/curl", "-sS", "--fail", "--max-time", "5", "--http2-prior-knowledge",
                                            "-o", "/dev/null", "http://127.0.0.1:" + port + "/m/model.json"});
            (code == 0 ? served : failed)++;
        }
    });
    for (const char* mode : {"rapid-reset", "continuation-flood", "ping-flood", "settings-flood"}) {
        auto [code, out] = run_command({"/usr/bin/python3", h2_client, mode, port});
        INFO(mode << ": " << out);
        CHECK(code == 0);
    }
    attacking = false;
    normal.join();
    CHECK(served.load() > 0);
    CHECK(failed.load() == 0);
}

TEST_CASE("an idle HTTP/2 connection gets GOAWAY, a request body that never ends gets 408 on its stream, a header block left open and a window kept shut are closed, at their deadlines", "[http2]") {
    ModelRoot root;
    root.dir.write("big.bin", std::string(1 << 20, 'x'));
    TestServer plain(root.dir.path(), R"({"http2": {"cleartext": true}, "limits": {"header_timeout": 1, "keepalive_timeout": 1, "send_timeout": 1}})");
    const std::string port = std::to_string(plain.port());
    for (const char* mode : {"idle", "slow-body", "stalled-header", "shut-window"}) {
        auto [code, out] = run_command({"/usr/bin/python3", h2_client, mode, port, "1"});
        INFO(mode << ": " << out);
        CHECK(code == 0);
    }
}

TEST_CASE("SIGTERM sends GOAWAY over HTTP/2, the stream in flight finishes, then the server exits 0", "[http2][process]") {
    TempDir dir;
    dir.write("big.bin", random_bytes(32 << 20, 3));
    Process server({binary, "--root", dir.path().string(), "--port", "0"}, {"MODELHOST_HTTP2_CLEARTEXT=true"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    auto [code, out] = run_command({"/usr/bin/python3", h2_client, "drain", std::to_string(port), std::to_string(server.pid())});
    INFO(out << server.output());
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains("received 33554432 bytes"));
    CHECK(server.wait(std::chrono::seconds(5)) == std::optional<int>(0));
    CHECK_THAT(server.output(), Catch::Contains("\"GET /big.bin HTTP/2\" 200 33554432"));
}

TEST_CASE("streaming a 1 GiB file over HTTP/2 keeps the server's memory flat", "[http2][process][slow]") {
    TempDir dir;
    const std::uint64_t size = 1ull << 30;
    {
        int fd = ::open((dir.path() / "big.bin").c_str(), O_CREAT | O_WRONLY, 0644);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
        ::close(fd);
    }
    Process server({binary, "--root", dir.path().string(), "--port", "0"}, {"MODELHOST_HTTP2_CLEARTEXT=true"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/big.bin";
    run_command({"/usr/bin/curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", url + "?warm-up", "-r", "0-0"});
    long before = server.status_kb("VmRSS");
    auto [code, out] = run_command({"/usr/bin/curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                                    "%{http_version} %{size_download}", url});
    INFO(out);
    CHECK(code == 0);
    CHECK(out == "2 1073741824");
    long peak = server.status_kb("VmHWM");
    INFO("RSS before " << before << " kB, peak " << peak << " kB");
    CHECK(peak - before < 50 * 1024);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}
