// modelhost doctor against modelhost itself (allow, refuse, credentials) and against a deliberately wrong server.
#include "catch.hpp"

#include "http_client.hpp"
#include "canned_server.hpp"
#include "process.hpp"

#include <boost/asio/ssl/context.hpp>

#include <csignal>
#include <filesystem>
#include <map>
#include <thread>
#include <memory>

using namespace modelhost::test;
namespace asio = boost::asio;

namespace {

const std::string binary = MODELHOST_BINARY;

void write_model(const TempDir& root) {
    root.write("m/model.json", R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"k","shape":[2],"dtype":"float32"}]}]})");
    root.write("m/group1-shard1of1.bin", std::string(8, '\0'));
}

// A server that answers every path with the same status line and headers, and "{}".
std::unique_ptr<CannedServer> wrong_server(const std::string& head, asio::ssl::context* tls = nullptr) {
    return std::make_unique<CannedServer>(std::map<std::string, std::string>{},
                                          head + "Content-Length: 2\r\nConnection: close\r\n\r\n{}", tls);
}

}  // namespace

TEST_CASE("doctor passes an allowed origin for model.json and every shard, and fails a refused one", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["http://localhost:5173"]}})");
    const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/m/model.json?v=1";
    auto [ok, out] = run_command({binary, "doctor", url, "--origin", "http://localhost:5173"});
    CHECK(ok == 0);
    CHECK_THAT(out, Catch::Contains("PASS " + url));
    CHECK_THAT(out, Catch::Contains("PASS http://127.0.0.1:" + std::to_string(s.port()) + "/m/group1-shard1of1.bin?v=1"));

    auto [refused, why] = run_command({binary, "doctor", url, "--origin", "https://evil.example"});
    CHECK(refused == 1);
    CHECK_THAT(why, Catch::Contains("No 'Access-Control-Allow-Origin' header is present on the requested resource"));

    auto [header, pre] = run_command({binary, "doctor", url, "--origin", "http://localhost:5173", "--header", "X-Trace"});
    CHECK(header == 1);
    CHECK_THAT(pre, Catch::Contains("Response to preflight request doesn't pass access control check"));
    auto [range, pre_ok] = run_command({binary, "doctor", url, "--origin", "http://localhost:5173", "--header", "Range"});
    CHECK(range == 0);

    auto [missing, status] = run_command({binary, "doctor", "http://127.0.0.1:" + std::to_string(s.port()) + "/m/nope.json",
                                          "--origin", "http://localhost:5173"});
    CHECK(missing == 1);
    CHECK_THAT(status, Catch::Contains("404 Not Found: the file is missing"));
    CHECK_THAT(status, Catch::Contains("the page sees the 404"));  // modelhost sends CORS headers on errors too
    CHECK_THAT(status, Catch::Contains("fix (modelhost"));
}

TEST_CASE("doctor --every prints what changes, only when it changes, and exits with the last check's status", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer s(root.path());
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port()) + "/m/";
    Process watch({binary, "doctor", base + "model.json", "--origin", "https://a.example", "--every", "0.2m"});
    Process fast({binary, "doctor", base + "model.json", "--origin", "https://a.example", "--every", "1"});
    auto wait_for = [&](Process& p, const std::string& text) {
        for (int i = 0; i < 400 && p.output().find(text) == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        return p.output().find(text) != std::string::npos;
    };
    REQUIRE(wait_for(fast, "PASS " + base + "group1-shard1of1.bin"));
    REQUIRE(wait_for(watch, "PASS " + base + "group1-shard1of1.bin"));  // its first check is done; the next is 12 s away
    std::filesystem::remove(root.path() / "m/group1-shard1of1.bin");
    REQUIRE(wait_for(fast, "FAIL " + base + "group1-shard1of1.bin"));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // another check: nothing changed, nothing printed
    fast.signal(SIGINT);
    CHECK(fast.wait() == std::optional<int>(1));
    std::string out = fast.output();
    INFO(out);
    auto count = [&](const std::string& text) {
        std::size_t n = 0;
        for (auto at = out.find(text); at != std::string::npos; at = out.find(text, at + 1)) ++n;
        return n;
    };
    CHECK(count("PASS " + base + "model.json") == 1);  // printed once, when first seen
    CHECK(count("FAIL " + base + "group1-shard1of1.bin") == 1);
    CHECK_THAT(out, Catch::Contains("stopped by SIGINT"));
    CHECK_THAT(out, Catch::Matches(R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] PASS [\s\S]*)"));
    watch.signal(SIGTERM);  // stopped during its first wait: the first check passed
    CHECK(watch.wait() == std::optional<int>(0));
}

TEST_CASE("doctor with credentials passes an exact origin with ACAC and fails a wildcard", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer cred(root.path(), R"({"cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": true}})");
    auto [ok, out] = run_command({binary, "doctor", "http://127.0.0.1:" + std::to_string(cred.port()) + "/m/model.json",
                                  "--origin", "https://app.example.com", "--credentials"});
    CHECK(ok == 0);
    TestServer star(root.path());
    auto [bad, why] = run_command({binary, "doctor", "http://127.0.0.1:" + std::to_string(star.port()) + "/m/model.json",
                                   "--origin", "https://app.example.com", "--credentials"});
    CHECK(bad == 1);
    CHECK_THAT(why, Catch::Contains("must not be the wildcard '*' when the request's credentials mode is 'include'"));
}

TEST_CASE("doctor names what a deliberately wrong server does", "[doctor]") {
    {
        auto two = wrong_server("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://a.example\r\nAccess-Control-Allow-Origin: https://b.example\r\n");
        auto [code, out] = run_command({binary, "doctor", (two->base() + "/m/model.json"), "--origin", "https://a.example"});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("contains multiple values 'https://a.example, https://b.example', but only one is allowed"));
    }
    {
        auto other = wrong_server("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://someone-else.example\r\n");
        auto [code, out] = run_command({binary, "doctor", (other->base() + "/m/model.json"), "--origin", "https://a.example"});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("has a value 'https://someone-else.example' that is not equal to the supplied origin"));
    }
    {
        auto novary = wrong_server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: https://a.example\r\n");
        auto [code, out] = run_command({binary, "doctor", (novary->base() + "/m/model.json"), "--origin", "https://a.example"});
        CHECK(code == 0);  // the browser accepts it; the cache hazard is a warning
        CHECK_THAT(out, Catch::Contains("Vary lacks Origin"));
    }
    {
        auto star = wrong_server("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n");
        auto [code, out] = run_command({binary, "doctor", (star->base() + "/m/model.json"), "--origin", "https://a.example", "--credentials"});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("must not be the wildcard '*'"));
    }
}

TEST_CASE("doctor follows redirects and requires every hop to pass CORS", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer target(root.path());
    const std::string final_url = "http://127.0.0.1:" + std::to_string(target.port()) + "/m/model.json";
    auto good = wrong_server("HTTP/1.1 302 Found\r\nLocation: " + final_url + "\r\nAccess-Control-Allow-Origin: *\r\n");
    auto [ok, out] = run_command({binary, "doctor", (good->base() + "/m/model.json"), "--origin", "https://a.example"});
    CHECK(ok == 0);
    // Shards resolve against the model URL the app gave (as TF.js does), here the redirecting server.
    CHECK_THAT(out, Catch::Contains("PASS " + good->base() + "/m/group1-shard1of1.bin"));
    auto bad = wrong_server("HTTP/1.1 302 Found\r\nLocation: " + final_url + "\r\n");
    auto [code, why] = run_command({binary, "doctor", (bad->base() + "/m/model.json"), "--origin", "https://a.example"});
    CHECK(code == 1);
    CHECK_THAT(why, Catch::Contains("No 'Access-Control-Allow-Origin' header is present"));
}

TEST_CASE("doctor over HTTPS verifies the certificate against the given CA and fails clearly with the wrong one", "[doctor][tls]") {
    TestPki pki;
    auto ctx = pki.server_context();
    auto server = wrong_server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n", &ctx);
    const std::string url = server->base() + "/m/model.json";
    auto [ok, out] = run_command({binary, "doctor", url, "--origin", "https://a.example", "--ca-file", pki.path("ca.pem")});
    CHECK(ok == 0);
    CHECK_THAT(out, Catch::Contains("PASS " + url));
    auto [wrong, why] = run_command({binary, "doctor", url, "--origin", "https://a.example", "--ca-file", pki.path("other.pem")});
    CHECK(wrong == 1);
    CHECK_THAT(why, Catch::Contains("TLS handshake failed"));
    CHECK_THAT(why, Catch::Contains("certificate verify failed"));
    auto [none, no_ca] = run_command({binary, "doctor", url, "--origin", "https://a.example"});
    CHECK(none == 1);
    CHECK_THAT(no_ca, Catch::Contains("pass --ca-file"));
}
