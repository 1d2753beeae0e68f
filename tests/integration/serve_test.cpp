// Serving files over real sockets: methods, types, errors and the headers every response carries.
#include "catch.hpp"

#include "http_client.hpp"

#include <boost/beast/http/field.hpp>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

// A root with a small model, a hidden file and a nested folder.
struct Fixture {
    TempDir root;
    Fixture() {
        root.write("demo/model.json", R"({"format":"graph-model"})");
        root.write("demo/group1-shard1of1.bin", std::string(1000, '\x01'));
        root.write("wasm/face_mesh.wasm", std::string("\0asm", 4));
        root.write(".env", "SECRET=1");
        root.write(".git/config", "[core]");
        root.write("demo/.hidden", "x");
    }
};

void check_common_headers(const Response& r) {
    CHECK(r[bhttp::field::server].starts_with("modelhost/"));
    CHECK(!r[bhttp::field::date].empty());
    CHECK(r["X-Content-Type-Options"] == "nosniff");
    CHECK(r["Cross-Origin-Resource-Policy"] == "cross-origin");
}

}  // namespace

TEST_CASE("GET serves a file with its type, length and common headers", "[serve]") {
    Fixture f;
    TestServer s(f.root.path());
    auto r = request(s.port(), "GET", "/demo/model.json");
    CHECK(r.result_int() == 200);
    CHECK(r.body() == R"({"format":"graph-model"})");
    CHECK(r[bhttp::field::content_type] == "application/json");
    CHECK(r[bhttp::field::content_length] == "24");
    check_common_headers(r);

    auto shard = request(s.port(), "GET", "/demo/group1-shard1of1.bin?tfjs-format=file");
    CHECK(shard.result_int() == 200);
    CHECK(shard.body() == std::string(1000, '\x01'));
    CHECK(shard[bhttp::field::content_type] == "application/octet-stream");
}

TEST_CASE("HEAD returns GET's headers without a body", "[serve]") {
    Fixture f;
    TestServer s(f.root.path());
    Client c(s.port());
    c.send("HEAD /demo/group1-shard1of1.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /demo/model.json HTTP/1.1\r\nHost: x\r\n\r\n");
    auto head = c.read(true);
    CHECK(head.result_int() == 200);
    CHECK(head[bhttp::field::content_length] == "1000");
    CHECK(head[bhttp::field::content_type] == "application/octet-stream");
    CHECK(head.body().empty());
    // The next response on the connection starts right after HEAD's headers: no stray body bytes were sent.
    auto next = c.read();
    CHECK(next.result_int() == 200);
    CHECK(next.body() == R"({"format":"graph-model"})");
}

TEST_CASE("missing files, directories and dotfiles are 404 with a short text body", "[serve]") {
    Fixture f;
    TestServer s(f.root.path());
    // ("/" is the status page, or the root's index.html: models_test.cpp)
    for (const char* target : {"/demo/missing.bin", "/demo", "/demo/", "/.env", "/.git/config", "/demo/.hidden",
                               "/%2eenv", "/demo/model.json/"}) {
        INFO(target);
        auto r = request(s.port(), "GET", target);
        CHECK(r.result_int() == 404);
        CHECK(r.body() == "404 Not Found\n");
        CHECK(r[bhttp::field::content_type] == "text/plain; charset=utf-8");
        check_common_headers(r);
    }
}

TEST_CASE("methods other than GET, HEAD and OPTIONS get 405 with Allow", "[serve]") {
    Fixture f;
    TestServer s(f.root.path());
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT"}) {
        INFO(method);
        auto r = request(s.port(), method, "/demo/model.json", "Content-Length: 0\r\n");
        CHECK(r.result_int() == 405);
        CHECK(r[bhttp::field::allow] == "GET, HEAD, OPTIONS");
        CHECK(r.body() == "405 Method Not Allowed\n");
        check_common_headers(r);
    }
}

TEST_CASE("OPTIONS without CORS request headers is 204 with Allow", "[serve]") {
    Fixture f;
    TestServer s(f.root.path());
    for (const char* target : {"/demo/model.json", "*"}) {
        auto r = request(s.port(), "OPTIONS", target);
        CHECK(r.result_int() == 204);
        CHECK(r[bhttp::field::allow] == "GET, HEAD, OPTIONS");
        CHECK(r.body().empty());
        CHECK(r.find(bhttp::field::content_length) == r.end());
    }
}

TEST_CASE("a wasm file is served as application/wasm", "[serve]") {
    Fixture f;
    TestServer s(f.root.path());
    CHECK(request(s.port(), "GET", "/wasm/face_mesh.wasm")[bhttp::field::content_type] == "application/wasm");
}

TEST_CASE("oversized headers get 431, an oversized body 413, a malformed request 400, then the connection closes", "[serve]") {
    Fixture f;
    TestServer s(f.root.path(), R"({"limits": {"max_header_bytes": 2048, "max_body_bytes": 100}})");
    {
        Client c(s.port());
        c.send("GET /demo/model.json HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4096, 'a') + "\r\n\r\n");
        auto r = c.read();
        CHECK(r.result_int() == 431);
        check_common_headers(r);
        CHECK(c.closed_by_peer());
    }
    {
        Client c(s.port());
        c.send("GET /demo/model.json HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'b'));
        auto r = c.read();
        CHECK(r.result_int() == 413);
        CHECK(r[bhttp::field::connection] == "close");
        CHECK(c.closed_by_peer());
    }
    {
        Client c(s.port());
        c.send("GET /demo/model.json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        CHECK(c.read().result_int() == 200);  // a small body within the limit is read and ignored
    }
    {
        Client c(s.port());
        c.send("GET /demo/model.json HTTP/1.1\r\nHost x\r\n\r\n");
        auto r = c.read();
        CHECK(r.result_int() == 400);
        CHECK(c.closed_by_peer());
    }
}

TEST_CASE("a configured header replaces the server's own: each header is sent exactly once", "[serve]") {
    Fixture f;
    TestServer s(f.root.path(), R"({"headers": {"Cache-Control": "no-store", "Server": "edge", "Content-Type": "x/y",
                                               "X-Content-Type-Options": "nosniff", "X-Extra": "1"}})");
    auto count = [](const Response& r, std::string_view name) { return std::distance(r.equal_range(name).first, r.equal_range(name).second); };
    auto r = request(s.port(), "GET", "/demo/model.json");
    CHECK(r.result_int() == 200);
    for (std::string_view name : {"Cache-Control", "Server", "Content-Type", "X-Content-Type-Options", "X-Extra", "ETag",
                                  "Last-Modified", "Date", "Content-Length", "Accept-Ranges"}) {
        CAPTURE(name);
        CHECK(count(r, name) == 1);
    }
    CHECK(r[bhttp::field::cache_control] == "no-store");
    CHECK(r[bhttp::field::server] == "edge");
    CHECK(r[bhttp::field::content_type] == "x/y");

    auto not_modified = request(s.port(), "GET", "/demo/model.json",
                                "If-None-Match: " + std::string(r[bhttp::field::etag]) + "\r\n");
    CHECK(not_modified.result_int() == 304);
    CHECK(count(not_modified, "Cache-Control") == 1);
    CHECK(not_modified[bhttp::field::cache_control] == "no-store");
    CHECK(count(not_modified, "ETag") == 1);

    auto missing = request(s.port(), "GET", "/nope.json");
    CHECK(missing.result_int() == 404);
    CHECK(count(missing, "Server") == 1);
    CHECK(missing["X-Extra"] == "1");
}
