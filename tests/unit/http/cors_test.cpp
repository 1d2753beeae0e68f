// The CORS decision and the headers it puts on a response, row by row as docs/ARCHITECTURE.md states them.
#include "catch.hpp"

#include "config/config.hpp"
#include "http/cors.hpp"
#include "base/glob.hpp"
#include "http/vary.hpp"

#include <boost/beast/http/fields.hpp>

using namespace modelhost;
using namespace modelhost::http;
namespace bhttp = boost::beast::http;

namespace {

// The default cors.expose_headers, as sent.
const std::string default_expose =
    "Content-Length, Content-Range, ETag, Accept-Ranges, Link, X-Repo-Commit, X-Linked-Size, X-Linked-Etag, X-Error-Code, "
    "X-Error-Message";

config::CorsConfig cors_config(std::vector<std::string> origins, bool credentials = false) {
    config::CorsConfig c;
    c.allow_origins = origins;
    c.allow_credentials = credentials;
    return c;
}

// Runs decide + apply for a request with the given headers; returns the response headers.
bhttp::fields respond(const CorsPolicy& p, std::vector<std::pair<std::string, std::string>> headers,
                      bhttp::verb method = bhttp::verb::get, CorsDecision* out = nullptr) {
    bhttp::fields req;
    for (const auto& [n, v] : headers) req.set(n, v);
    CorsDecision d = decide_cors(p, req, method);
    if (out) *out = d;
    bhttp::fields res;
    // The pre-built lines apply_cors returns go on the response too: read them back as fields.
    for (std::string_view lines = apply_cors(res, p, d); !lines.empty();) {
        const auto eol = lines.find("\r\n");
        const auto line = lines.substr(0, eol);
        const auto colon = line.find(": ");
        res.insert(line.substr(0, colon), line.substr(colon + 2));
        lines.remove_prefix(eol + 2);
    }
    return res;
}

bool has(const bhttp::fields& f, std::string_view name) { return f.find(name) != f.end(); }

bool has_any_acx(const bhttp::fields& f) {
    for (const auto& h : f)
        if (std::string(h.name_string()).starts_with("Access-Control-")) return true;
    return false;
}

}  // namespace

TEST_CASE("a * policy sends ACAO * on every response and never Vary: Origin", "[cors]") {
    CorsPolicy p(cors_config({"*"}));
    for (auto headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
             {}, {{"Origin", "https://any.site"}}, {{"Origin", "null"}}, {{"Origin", "garbage"}}}) {
        auto res = respond(p, headers);
        CHECK(res[bhttp::field::access_control_allow_origin] == "*");
        CHECK(res[bhttp::field::access_control_expose_headers] == default_expose);
        CHECK_FALSE(has(res, "Vary"));
        CHECK_FALSE(has(res, "Access-Control-Allow-Credentials"));
    }
}

TEST_CASE("an allow-list echoes a matching Origin with Vary: Origin and refuses others without CORS headers", "[cors]") {
    CorsPolicy p(cors_config({"http://localhost:5173", "https://*.example.com"}));
    auto ok = respond(p, {{"Origin", "http://localhost:5173"}});
    CHECK(ok[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    CHECK(ok[bhttp::field::vary] == "Origin");
    CHECK_FALSE(has(ok, "Access-Control-Allow-Credentials"));

    auto sub = respond(p, {{"Origin", "https://app.example.com"}});
    CHECK(sub[bhttp::field::access_control_allow_origin] == "https://app.example.com");

    CorsDecision d;
    auto refused = respond(p, {{"Origin", "https://evil.com"}}, bhttp::verb::get, &d);
    CHECK_FALSE(has_any_acx(refused));
    CHECK(refused[bhttp::field::vary] == "Origin");
    CHECK(d.verdict == CorsDecision::Verdict::refused_origin);
    CHECK_FALSE(d.preflight);  // a refused simple GET still gets the file: the handler does not 403 it

    auto none = respond(p, {});
    CHECK_FALSE(has_any_acx(none));
    CHECK(none[bhttp::field::vary] == "Origin");

    auto malformed = respond(p, {{"Origin", "http://localhost:5173/"}});
    CHECK_FALSE(has_any_acx(malformed));
    CHECK(respond(p, {{"Origin", "null"}})[bhttp::field::access_control_allow_origin].empty());
}

TEST_CASE("with credentials a matching Origin gets ACAO of that origin and ACAC true", "[cors]") {
    CorsPolicy p(cors_config({"https://app.example.com"}, true));
    auto res = respond(p, {{"Origin", "https://app.example.com"}});
    CHECK(res[bhttp::field::access_control_allow_origin] == "https://app.example.com");
    CHECK(res[bhttp::field::access_control_allow_credentials] == "true");
    CHECK(res[bhttp::field::vary] == "Origin");
}

TEST_CASE("an allowed preflight gets 204 headers: methods, headers, max-age and Vary on all three request headers", "[cors]") {
    CorsPolicy p(cors_config({"http://localhost:5173"}));
    CorsDecision d;
    auto res = respond(p, {{"Origin", "http://localhost:5173"}, {"Access-Control-Request-Method", "GET"},
                           {"Access-Control-Request-Headers", "range, if-none-match"}},
                       bhttp::verb::options, &d);
    CHECK(d.preflight);
    CHECK(d.verdict == CorsDecision::Verdict::allowed);
    CHECK(res[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    CHECK(res[bhttp::field::access_control_allow_methods] == "GET, HEAD");
    CHECK(res[bhttp::field::access_control_allow_headers] == "Range, If-None-Match, If-Modified-Since");
    CHECK(res[bhttp::field::access_control_max_age] == "7200");
    CHECK(res[bhttp::field::vary] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    CHECK_FALSE(has(res, "Access-Control-Expose-Headers"));
}

TEST_CASE("a refused preflight names its reason and carries no Access-Control headers", "[cors]") {
    CorsPolicy p(cors_config({"http://localhost:5173"}));
    CorsDecision d;
    auto origin = respond(p, {{"Origin", "https://evil.com"}, {"Access-Control-Request-Method", "GET"}}, bhttp::verb::options, &d);
    CHECK(d.preflight);
    CHECK(d.verdict == CorsDecision::Verdict::refused_origin);
    CHECK_FALSE(has_any_acx(origin));
    CHECK(origin[bhttp::field::vary] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");

    respond(p, {{"Origin", "http://localhost:5173"}, {"Access-Control-Request-Method", "PUT"}}, bhttp::verb::options, &d);
    CHECK(d.verdict == CorsDecision::Verdict::refused_method);
    CHECK_THAT(d.note, Catch::Contains("method PUT"));

    auto header = respond(p, {{"Origin", "http://localhost:5173"}, {"Access-Control-Request-Method", "GET"},
                              {"Access-Control-Request-Headers", "range, x-secret"}},
                          bhttp::verb::options, &d);
    CHECK(d.verdict == CorsDecision::Verdict::refused_header);
    CHECK_THAT(d.note, Catch::Contains("x-secret"));
    CHECK_FALSE(has_any_acx(header));
}

TEST_CASE("allow_headers * is literal without credentials and reflects the request with credentials", "[cors]") {
    auto cfg = cors_config({"*"});
    cfg.allow_headers = {"*"};
    CorsPolicy open(cfg);
    auto res = respond(open, {{"Origin", "https://a.com"}, {"Access-Control-Request-Method", "GET"},
                              {"Access-Control-Request-Headers", "x-anything"}},
                       bhttp::verb::options);
    CHECK(res[bhttp::field::access_control_allow_headers] == "*");
    CHECK(res[bhttp::field::vary] == "Access-Control-Request-Method, Access-Control-Request-Headers");

    auto cred = cors_config({"https://a.com"}, true);
    cred.allow_headers = {"*"};
    CorsPolicy reflect(cred);
    auto r2 = respond(reflect, {{"Origin", "https://a.com"}, {"Access-Control-Request-Method", "GET"},
                                {"Access-Control-Request-Headers", "X-Trace-Id, Range"}},
                      bhttp::verb::options);
    CHECK(r2[bhttp::field::access_control_allow_headers] == "x-trace-id, range");
    CHECK(r2[bhttp::field::access_control_allow_credentials] == "true");
}

TEST_CASE("private network access is granted only when configured and asked for", "[cors]") {
    std::vector<std::pair<std::string, std::string>> pna{{"Origin", "https://a.com"},
                                                        {"Access-Control-Request-Method", "GET"},
                                                        {"Access-Control-Request-Private-Network", "true"}};
    auto off_cfg = cors_config({"https://a.com"});
    CHECK_FALSE(has(respond(CorsPolicy(off_cfg), pna, bhttp::verb::options), "Access-Control-Allow-Private-Network"));
    auto on_cfg = off_cfg;
    on_cfg.allow_private_network = true;
    CorsPolicy on(on_cfg);
    CHECK(respond(on, pna, bhttp::verb::options)["Access-Control-Allow-Private-Network"] == "true");
    pna.pop_back();
    CHECK_FALSE(has(respond(on, pna, bhttp::verb::options), "Access-Control-Allow-Private-Network"));
}

TEST_CASE("OPTIONS without Access-Control-Request-Method is not a preflight", "[cors]") {
    CorsPolicy p(cors_config({"https://a.com"}));
    CorsDecision d;
    auto res = respond(p, {{"Origin", "https://a.com"}}, bhttp::verb::options, &d);
    CHECK_FALSE(d.preflight);
    CHECK(res[bhttp::field::access_control_allow_origin] == "https://a.com");
    CHECK_FALSE(has(res, "Access-Control-Allow-Methods"));
}

TEST_CASE("an empty allow_origins list turns CORS off: no headers and no Vary", "[cors]") {
    CorsPolicy p(cors_config({}));
    auto res = respond(p, {{"Origin", "https://a.com"}});
    CHECK_FALSE(has_any_acx(res));
    CHECK_FALSE(has(res, "Vary"));
}

TEST_CASE("append_vary merges tokens into one header and never duplicates one", "[vary]") {
    bhttp::fields f;
    append_vary(f, "Origin");
    append_vary(f, "Accept-Encoding");
    append_vary(f, "origin");
    append_vary(f, "ACCEPT-ENCODING");
    CHECK(f[bhttp::field::vary] == "Origin, Accept-Encoding");
    CHECK(std::distance(f.equal_range(bhttp::field::vary).first, f.equal_range(bhttp::field::vary).second) == 1);
    bhttp::fields star;
    star.set(bhttp::field::vary, "*");
    append_vary(star, "Origin");
    CHECK(star[bhttp::field::vary] == "*");
}

TEST_CASE("route globs: ** crosses folders, * and ? stay within one", "[glob]") {
    CHECK(glob_match("/private/**", "/private/a/b/model.json"));
    CHECK(glob_match("/private/**", "/private/x"));
    CHECK_FALSE(glob_match("/private/**", "/private"));
    CHECK_FALSE(glob_match("/private/**", "/privateer/x"));
    CHECK(glob_match("/*/model.json", "/face/model.json"));
    CHECK_FALSE(glob_match("/*/model.json", "/a/b/model.json"));
    CHECK(glob_match("/**/*.json", "/a/b/model.json"));
    CHECK(glob_match("/**.bin", "/a/b/group1-shard1of2.bin"));
    CHECK_FALSE(glob_match("/**.bin", "/a/b/model.json"));
    CHECK(glob_match("/v?/x", "/v1/x"));
    CHECK_FALSE(glob_match("/v?/x", "/v/x"));
    CHECK_FALSE(glob_match("/v?/x", "/v//x"));
    CHECK(glob_match("/**", "/"));
}
