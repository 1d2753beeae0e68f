// Liveness and readiness endpoints: under a prefix that never shadows a model, and readiness failing while draining.
#include "catch.hpp"

#include "http_client.hpp"

#include <boost/beast/http/field.hpp>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

TEST_CASE("healthz and readyz answer under the default dot-folder prefix, with CORS, never cached", "[health]") {
    TempDir root;
    root.write("healthz", "a model file named healthz");
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["http://localhost:5173"]}})");
    for (const char* path : {"/.modelhost/healthz", "/.modelhost/readyz", "/.modelhost/readyz?probe=1"}) {
        INFO(path);
        auto r = request(s.port(), "GET", path, "Origin: https://refused.example\r\n");
        CHECK(r.result_int() == 200);
        CHECK(r.body() == "ok\n");
        CHECK(r[bhttp::field::cache_control] == "no-store");
        CHECK(r.find(bhttp::field::access_control_allow_origin) == r.end());  // refused origin: no CORS, still 200
    }
    CHECK(request(s.port(), "HEAD", "/.modelhost/healthz").result_int() == 200);
    CHECK(request(s.port(), "GET", "/healthz").body() == "a model file named healthz");  // never shadowed
    CHECK(request(s.port(), "GET", "/.modelhost/other").result_int() == 404);
}

TEST_CASE("an empty health prefix puts the endpoints at the root", "[health]") {
    TempDir root;
    TestServer s(root.path(), R"({"health": {"prefix": ""}})");
    CHECK(request(s.port(), "GET", "/healthz").result_int() == 200);
    CHECK(request(s.port(), "GET", "/readyz").result_int() == 200);
}

TEST_CASE("readyz is 503 for a request answered while the server drains, healthz stays 200", "[health]") {
    TempDir root;
    TestServer s(root.path());
    Client ready(s.port()), live(s.port());
    ready.send("GET /.modelhost/readyz HTTP/1.1\r\nHost: x\r\n");  // a request in progress when the drain begins
    live.send("GET /.modelhost/healthz HTTP/1.1\r\nHost: x\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.begin_shutdown();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ready.send("\r\n");
    live.send("\r\n");
    auto r = ready.read();
    CHECK(r.result_int() == 503);
    CHECK(r.body() == "draining\n");
    CHECK(r[bhttp::field::connection] == "close");
    CHECK(live.read().result_int() == 200);
}
