// tools/diagnosis: the order of causes (status before CORS), the server a fix is worded for, and the Fetch CORS check.
#include "catch.hpp"

#include "tools/diagnosis.hpp"

using namespace modelhost::tools;

namespace {

HttpResponse response(unsigned status, HeaderPairs headers) {
    HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    return r;
}

Verdict judge(const HttpResponse& r, const BrowserRequest& page, const std::string& path = "/m/model.json") {
    Verdict v;
    diagnose_response(r, path, page, v);
    return v;
}

const BrowserRequest app{"https://app.example", false, {}};
const BrowserRequest app_with_credentials{"https://app.example", true, {}};

}  // namespace

TEST_CASE("the server a fix is worded for comes from the Server header", "[diagnosis]") {
    CHECK(server_kind(response(200, {{"Server", "modelhost/0.1.0"}})) == ServerKind::modelhost);
    CHECK(server_kind(response(200, {{"server", "nginx/1.22.1"}})) == ServerKind::nginx);
    CHECK(server_kind(response(200, {{"Server", "Caddy"}})) == ServerKind::other);
    CHECK(server_kind(response(200, {})) == ServerKind::other);
}

TEST_CASE("an error status is the cause, its CORS headers decide what the browser shows", "[diagnosis]") {
    auto with_cors = judge(response(404, {{"Server", "modelhost"}, {"Access-Control-Allow-Origin", "*"}}), app);
    REQUIRE(with_cors.failures.size() == 1);
    CHECK(with_cors.failures[0].cause == "404 Not Found: the file is missing");
    CHECK(with_cors.failures[0].browser == "the page sees the 404; the model fails to load");
    CHECK(with_cors.status == 404);

    auto without = judge(response(403, {{"Server", "Caddy"}}), app);
    REQUIRE(without.failures.size() == 1);
    CHECK(without.failures[0].cause == "403 Forbidden: the server refuses to give the file out");
    CHECK_THAT(without.failures[0].browser, Catch::StartsWith("the 403 carries no Access-Control-Allow-Origin, so the browser "
                                                               "reports a CORS error instead of the 403"));
    CHECK_THAT(without.failures[0].fix, Catch::EndsWith("make the server send Access-Control-Allow-Origin on error responses too"));
    CHECK(judge(response(503, {{"Access-Control-Allow-Origin", "*"}}), app).failures[0].cause ==
          "503 Service Unavailable: the server failed");
    CHECK(judge(response(302, {{"Access-Control-Allow-Origin", "*"}}), app).failures.at(0).cause == "302 Found without a Location header");
    CHECK(judge(response(302, {{"Access-Control-Allow-Origin", "*"}, {"Location", "/b"}}), app).pass());  // doctor follows it
}

TEST_CASE("the CORS check follows the Fetch standard, one failure each, fixed in the server's own terms", "[diagnosis]") {
    struct Case {
        HeaderPairs headers;
        const BrowserRequest* page;
        std::string cause, fix_part;
    };
    for (const auto& c : std::vector<Case>{
             {{{"Server", "modelhost"}}, &app, "no Access-Control-Allow-Origin for https://app.example",
              "add \"https://app.example\" to cors.allow_origins"},
             {{{"Server", "nginx"}, {"Access-Control-Allow-Origin", "*"}}, &app_with_credentials,
              "Access-Control-Allow-Origin is '*' but the page sends credentials", "add_header Access-Control-Allow-Credentials true always;"},
             {{{"Access-Control-Allow-Origin", "https://app.example, https://b.example"}}, &app,
              "Access-Control-Allow-Origin is sent more than once ('https://app.example, https://b.example')", "send Access-Control-Allow-Origin once"},
             {{{"Server", "modelhost"}, {"Access-Control-Allow-Origin", "https://b.example"}}, &app,
              "Access-Control-Allow-Origin names another origin ('https://b.example'), not https://app.example", "honour Vary: Origin"},
             {{{"Access-Control-Allow-Origin", "https://app.example"}, {"Vary", "Origin"}}, &app_with_credentials,
              "the page sends credentials but Access-Control-Allow-Credentials is not 'true'", "send Access-Control-Allow-Credentials: true"},
         }) {
        auto v = judge(response(200, c.headers), *c.page);
        INFO(c.cause);
        REQUIRE(v.failures.size() == 1);
        CHECK(v.failures[0].cause == c.cause);
        CHECK_THAT(v.failures[0].fix, Catch::Contains(c.fix_part));
        CHECK_FALSE(v.failures[0].browser.empty());
    }
    auto ok = judge(response(200, {{"Access-Control-Allow-Origin", "https://app.example"}, {"Access-Control-Allow-Credentials", "true"},
                                   {"Vary", "Accept-Encoding, origin"}, {"Content-Type", "application/json"}}),
                    app_with_credentials);
    CHECK(ok.pass());
    CHECK(ok.warnings.empty());
    auto no_vary = judge(response(200, {{"Access-Control-Allow-Origin", "https://app.example"}, {"Content-Type", "application/json"}}), app);
    CHECK(no_vary.pass());
    REQUIRE(no_vary.warnings.size() == 1);
    CHECK_THAT(no_vary.warnings[0].cause, Catch::Contains("Vary lacks Origin"));
}

TEST_CASE("types: a .wasm must be application/wasm, a script under nosniff must be JavaScript", "[diagnosis]") {
    HeaderPairs star{{"Access-Control-Allow-Origin", "*"}};
    auto wasm = star;
    wasm.emplace_back("Content-Type", "application/octet-stream");
    CHECK(judge(response(200, wasm), app, "/w/backend.wasm").failures.size() == 1);
    wasm.back().second = "application/wasm";
    CHECK(judge(response(200, wasm), app, "/w/backend.wasm").pass());
    auto script = star;
    script.emplace_back("Content-Type", "text/plain");
    CHECK(judge(response(200, script), app, "/w/loader.js").pass());  // sniffing still allowed
    script.emplace_back("X-Content-Type-Options", "nosniff");
    CHECK_FALSE(judge(response(200, script), app, "/w/loader.js").pass());
}

TEST_CASE("a preflight must be 2xx, pass the CORS check and allow each requested header", "[diagnosis]") {
    BrowserRequest traced{"https://app.example", false, {"X-Trace"}};
    auto run = [&](unsigned status, HeaderPairs headers, const BrowserRequest& page) {
        Verdict v;
        diagnose_preflight(response(status, std::move(headers)), page, v);
        return v;
    };
    auto refused = run(403, {{"Server", "modelhost"}}, traced);
    REQUIRE(refused.failures.size() == 1);
    CHECK(refused.failures[0].cause == "the preflight (OPTIONS, caused by the request header(s) X-Trace) gets 403 Forbidden");
    CHECK_THAT(refused.failures[0].fix, Catch::Contains("X-Trace to cors.allow_headers"));
    HeaderPairs allowed{{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Allow-Headers", "range, x-trace"}};
    CHECK(run(204, allowed, traced).pass());
    allowed.back().second = "range";
    CHECK(run(204, allowed, traced).failures.at(0).cause == "the preflight does not allow the request header X-Trace");
    allowed.back().second = "*";
    CHECK(run(204, allowed, traced).pass());  // "*" counts only without credentials
    BrowserRequest traced_with_credentials{"https://app.example", true, {"X-Trace"}};
    HeaderPairs echoing{{"Access-Control-Allow-Origin", "https://app.example"}, {"Access-Control-Allow-Credentials", "true"},
                        {"Access-Control-Allow-Headers", "*"}};
    CHECK_FALSE(run(204, echoing, traced_with_credentials).pass());
}
