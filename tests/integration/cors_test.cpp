// CORS over real sockets: every response path carries the policy's headers, errors and preflights included.
#include "catch.hpp"

#include "http_client.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

// The default cors.expose_headers, as sent.
const std::string default_expose =
    "Content-Length, Content-Range, ETag, Accept-Ranges, Link, X-Repo-Commit, X-Linked-Size, X-Linked-Etag, X-Error-Code, "
    "X-Error-Message";

struct Root {
    TempDir dir;
    Root() {
        dir.write("face/model.json", R"({"weightsManifest":[]})");
        dir.write("face/group1-shard1of1.bin", std::string(64, 'w'));
        dir.write("private/secret/model.json", "{}");
        dir.write("open/model.json", "{}");
    }
};

const std::string allow_list = R"({"cors": {"allow_origins": ["http://localhost:5173", "https://*.example.com", "http://127.0.0.1:*"]}})";

std::string origin(const std::string& o) { return "Origin: " + o + "\r\n"; }

// The Vary tokens of a response, as listed (one header, comma separated).
std::vector<std::string> vary_tokens(const Response& r) {
    std::vector<std::string> out;
    std::string v(r[bhttp::field::vary]);
    for (std::size_t pos = 0; pos < v.size();) {
        auto comma = v.find(',', pos);
        std::string t = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        t.erase(0, t.find_first_not_of(' '));
        if (!t.empty()) out.push_back(t);
        pos = comma == std::string::npos ? v.size() : comma + 1;
    }
    return out;
}

// Vary lists Origin exactly once (Accept-Encoding may stand beside it for compressible files).
bool varies_on_origin(const Response& r) {
    auto t = vary_tokens(r);
    return r.count(bhttp::field::vary) == 1 && std::count(t.begin(), t.end(), "Origin") == 1;
}

bool has_acx(const Response& r) {
    for (const auto& h : r)
        if (std::string(h.name_string()).starts_with("Access-Control-")) return true;
    return false;
}

// Every kind of response the server makes, as (method, target, extra headers, expected status).
struct Case {
    std::string method, target, headers;
    unsigned status;
};

std::vector<Case> every_status(const std::string& o) {
    return {
        {"GET", "/face/model.json", origin(o), 200},
        {"HEAD", "/face/group1-shard1of1.bin", origin(o), 200},
        {"GET", "/face/missing.bin", origin(o), 404},
        {"GET", "/.env", origin(o), 404},
        {"GET", "/face/", origin(o), 404},
        {"GET", "/%2e%2e/x", origin(o), 400},
        {"DELETE", "/face/model.json", origin(o) + "Content-Length: 0\r\n", 405},
        {"OPTIONS", "/face/model.json", origin(o), 204},
    };
}

}  // namespace

TEST_CASE("a * policy puts ACAO * on every response, errors included, with no Vary: Origin", "[cors]") {
    Root root;
    TestServer s(root.dir.path());
    for (const auto& c : every_status("https://anything.test")) {
        INFO(c.method << " " << c.target);
        auto r = request(s.port(), c.method, c.target, c.headers);
        CHECK(r.result_int() == c.status);
        CHECK(r[bhttp::field::access_control_allow_origin] == "*");
        auto tokens = vary_tokens(r);
        CHECK(std::find(tokens.begin(), tokens.end(), "Origin") == tokens.end());
        CHECK(r["Cross-Origin-Resource-Policy"] == "cross-origin");
    }
    auto no_origin = request(s.port(), "GET", "/face/model.json");
    CHECK(no_origin[bhttp::field::access_control_allow_origin] == "*");
    CHECK(no_origin[bhttp::field::access_control_expose_headers] == default_expose);
}

TEST_CASE("an allowed origin gets its own ACAO and Vary: Origin on every status", "[cors]") {
    Root root;
    TestServer s(root.dir.path(), allow_list);
    for (const std::string& o : std::vector<std::string>{"http://localhost:5173", "https://app.example.com", "http://127.0.0.1:4000"}) {
        for (const auto& c : every_status(o)) {
            INFO(o << " " << c.method << " " << c.target);
            auto r = request(s.port(), c.method, c.target, c.headers);
            CHECK(r.result_int() == c.status);
            CHECK(r[bhttp::field::access_control_allow_origin] == o);
            CHECK(varies_on_origin(r));
            CHECK(r.count(bhttp::field::access_control_allow_origin) == 1);
            CHECK(r.count(bhttp::field::vary) == 1);
        }
    }
}

TEST_CASE("a refused origin gets the normal response without CORS headers but with Vary: Origin", "[cors]") {
    Root root;
    TestServer s(root.dir.path(), allow_list);
    for (const std::string& o : std::vector<std::string>{"https://evil.com", "https://example.com.evil.com", "https://evilexample.com",
                                "http://app.example.com", "null", "http://localhost:5173/", "not an origin"}) {
        for (const auto& c : every_status(o)) {
            INFO(o << " " << c.method << " " << c.target);
            auto r = request(s.port(), c.method, c.target, c.headers);
            CHECK(r.result_int() == c.status);  // the file is still served: the browser does the blocking
            CHECK_FALSE(has_acx(r));
            CHECK(varies_on_origin(r));
        }
    }
    auto body = request(s.port(), "GET", "/face/model.json", origin("https://evil.com"));
    CHECK(body.body() == R"({"weightsManifest":[]})");
    auto none = request(s.port(), "GET", "/face/model.json");
    CHECK_FALSE(has_acx(none));
    CHECK(varies_on_origin(none));
}

TEST_CASE("preflights: allowed gets 204 with the allow headers, refused gets 403 without any", "[cors]") {
    Root root;
    TestServer s(root.dir.path(), allow_list);
    const std::string pre = "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\n";
    auto ok = request(s.port(), "OPTIONS", "/face/model.json", origin("http://localhost:5173") + pre);
    CHECK(ok.result_int() == 204);
    CHECK(ok[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    CHECK(ok[bhttp::field::access_control_allow_methods] == "GET, HEAD");
    CHECK(ok[bhttp::field::access_control_allow_headers] == "Range, If-None-Match, If-Modified-Since");
    CHECK(ok[bhttp::field::access_control_max_age] == "7200");
    CHECK(ok[bhttp::field::vary] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    CHECK(ok.body().empty());

    auto missing_file = request(s.port(), "OPTIONS", "/face/nothing-here.bin", origin("http://localhost:5173") + pre);
    CHECK(missing_file.result_int() == 204);  // preflights are answered before any file lookup

    for (const std::string& bad : std::vector<std::string>{origin("https://evil.com") + pre,
                                  origin("http://localhost:5173") + "Access-Control-Request-Method: PUT\r\n",
                                  origin("http://localhost:5173") + "Access-Control-Request-Method: GET\r\n"
                                                                    "Access-Control-Request-Headers: x-custom\r\n"}) {
        INFO(bad);
        auto r = request(s.port(), "OPTIONS", "/face/model.json", bad);
        CHECK(r.result_int() == 403);
        CHECK_FALSE(has_acx(r));
        CHECK(r[bhttp::field::vary] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    }
}

TEST_CASE("credentials: exact origin plus ACAC true, and * allow_headers reflects the request", "[cors]") {
    Root root;
    TestServer s(root.dir.path(), R"({"cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": true,
                                               "allow_headers": ["*"], "allow_private_network": true}})");
    auto r = request(s.port(), "GET", "/face/model.json", origin("https://app.example.com") + "Cookie: a=b\r\n");
    CHECK(r[bhttp::field::access_control_allow_origin] == "https://app.example.com");
    CHECK(r[bhttp::field::access_control_allow_credentials] == "true");
    auto pre = request(s.port(), "OPTIONS", "/face/model.json",
                       origin("https://app.example.com") +
                           "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-trace, range\r\n"
                           "Access-Control-Request-Private-Network: true\r\n");
    CHECK(pre.result_int() == 204);
    CHECK(pre[bhttp::field::access_control_allow_headers] == "x-trace, range");
    CHECK(pre["Access-Control-Allow-Private-Network"] == "true");
    CHECK(pre[bhttp::field::access_control_allow_credentials] == "true");
}

TEST_CASE("private network preflights are granted only when allow_private_network is on", "[cors]") {
    Root root;
    TestServer s(root.dir.path());
    auto r = request(s.port(), "OPTIONS", "/face/model.json",
                     origin("https://a.test") + "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Private-Network: true\r\n");
    CHECK(r.result_int() == 204);
    CHECK(r[bhttp::field::access_control_allow_origin] == "*");
    CHECK(r.find("Access-Control-Allow-Private-Network") == r.end());
}

TEST_CASE("routes: the first matching route changes only the cors keys and headers it names", "[cors]") {
    Root root;
    TestServer s(root.dir.path(), R"({
        "cors": {"allow_origins": ["http://localhost:5173"]},
        "headers": {"Cross-Origin-Resource-Policy": "cross-origin", "X-Top": "1"},
        "routes": [
            {"path": "/private/**", "cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": true},
             "headers": {"Cache-Control": "private"}},
            {"path": "/private/secret/**", "cors": {"allow_origins": ["*"]}},
            {"path": "/open/**", "cors": {"allow_origins": ["*"]}},
            {"path": "/face/*", "cors": {"max_age": 5}, "headers": {"X-Top": null}}
        ]})");
    auto priv = request(s.port(), "GET", "/private/secret/model.json", origin("https://app.example.com"));
    CHECK(priv[bhttp::field::access_control_allow_origin] == "https://app.example.com");  // first match wins
    CHECK(priv[bhttp::field::access_control_allow_credentials] == "true");
    CHECK(priv[bhttp::field::cache_control] == "private");
    CHECK(priv["X-Top"] == "1");  // inherited: a route's headers add to the top level's, never drop them
    CHECK(priv["Cross-Origin-Resource-Policy"] == "cross-origin");

    auto refused = request(s.port(), "GET", "/private/secret/model.json", origin("http://localhost:5173"));
    CHECK_FALSE(has_acx(refused));
    CHECK(varies_on_origin(refused));

    auto open = request(s.port(), "GET", "/open/model.json", origin("https://whoever.test"));
    CHECK(open[bhttp::field::access_control_allow_origin] == "*");
    CHECK_FALSE(varies_on_origin(open));
    CHECK(vary_tokens(open) == std::vector<std::string>{"Accept-Encoding"});
    CHECK(open["X-Top"] == "1");  // a route without headers keeps the top-level ones

    auto top = request(s.port(), "GET", "/face/model.json", origin("http://localhost:5173"));
    CHECK(top[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    CHECK(top.find(bhttp::field::access_control_allow_credentials) == top.end());
    CHECK(top.find("X-Top") == top.end());  // removed by the route's null
    CHECK(top["Cross-Origin-Resource-Policy"] == "cross-origin");

    // A route that sets only max_age keeps the top-level allow-list: a refused origin gets no ACAO (never "*").
    auto face_refused = request(s.port(), "GET", "/face/model.json", origin("https://evil.test"));
    CHECK(face_refused.result_int() == 200);
    CHECK_FALSE(has_acx(face_refused));
    CHECK(varies_on_origin(face_refused));
    auto pre = request(s.port(), "OPTIONS", "/face/model.json",
                       origin("http://localhost:5173") + "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\n");
    CHECK(pre.result_int() == 204);
    CHECK(pre[bhttp::field::access_control_max_age] == "5");
}

TEST_CASE("limit errors (431, 413, 408) carry the CORS headers too", "[cors]") {
    Root root;
    TestServer s(root.dir.path(), R"({"cors": {"allow_origins": ["http://localhost:5173"]},
                                      "limits": {"max_header_bytes": 2048, "max_body_bytes": 10, "header_timeout": 0.3}})");
    {
        Client c(s.port());
        c.send("GET /face/model.json HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\nContent-Length: 1000\r\n\r\n");
        auto r = c.read();
        CHECK(r.result_int() == 413);
        CHECK(r[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
        CHECK(varies_on_origin(r));
    }
    {
        Client c(s.port());
        c.send("GET /face/model.json HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n");
        auto r = c.read();
        CHECK(r.result_int() == 408);
        CHECK(varies_on_origin(r));
    }
    {
        Client c(s.port());
        c.send("GET /face/model.json HTTP/1.1\r\nOrigin: http://localhost:5173\r\nX-Pad: " + std::string(4000, 'p') + "\r\n\r\n");
        auto r = c.read();
        CHECK(r.result_int() == 431);
        CHECK(varies_on_origin(r));
    }
}
