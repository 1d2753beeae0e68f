// The one redirect rule (at most 10 hops, never https to http, only http(s)), the shard-URL query rule, and a chain
// followed against canned loopback servers.
#include "catch.hpp"

#include "canned_server.hpp"
#include "client/http_client.hpp"

#include <string>
#include <vector>

using namespace modelhost::test;
namespace client = modelhost::client;
using Kind = client::NextHop::Kind;

namespace {

client::HttpResponse answer(unsigned status, const std::string& location = "") {
    client::HttpResponse r;
    r.status = status;
    if (!location.empty()) r.headers.emplace_back("Location", location);
    return r;
}

std::string redirect_to(const std::string& to) {
    return "HTTP/1.1 302 Found\r\nLocation: " + to + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

}  // namespace

TEST_CASE("after each response the rule says done, follow where, or refused and why", "[client][redirect]") {
    struct Case {
        std::string name;
        client::HttpResponse response;
        std::string current;
        int followed;
        client::RedirectRule rule;
        Kind kind;
        std::string expect;  // the next URL, or a part of the refusal
    };
    const client::RedirectRule plain, browser{.max_redirects = 10, .allow_downgrade = true};
    const std::vector<Case> cases = {
        {"a 200 ends the chain", answer(200), "https://a.example/m.json", 0, plain, Kind::done, ""},
        {"a 3xx without Location ends the chain", answer(304), "https://a.example/m.json", 0, plain, Kind::done, ""},
        {"a relative Location resolves against the URL asked", answer(302, "../b/m.json"), "https://a.example/x/y/m.json", 0,
         plain, Kind::follow, "https://a.example/x/b/m.json"},
        {"an absolute Location to another host is followed", answer(301, "https://cdn.example/m.json"), "https://a.example/m.json",
         3, plain, Kind::follow, "https://cdn.example/m.json"},
        {"the tenth redirect is followed", answer(307, "/n"), "http://a.example/m", 9, plain, Kind::follow, "http://a.example/n"},
        {"the eleventh is refused naming the URL", answer(307, "/n"), "http://a.example/m", 10, plain, Kind::refused,
         "http://a.example/m: more than 10 redirects"},
        {"https to http is refused", answer(302, "http://a.example/m"), "https://a.example/m", 0, plain, Kind::refused,
         "https://a.example/m: redirects to http://a.example/m, from https to plain http; refused"},
        {"https to http is followed when the rule allows it", answer(302, "http://a.example/m"), "https://a.example/m", 0,
         browser, Kind::follow, "http://a.example/m"},
        {"http to https is followed", answer(302, "https://a.example/m"), "http://a.example/m", 0, plain, Kind::follow,
         "https://a.example/m"},
        {"a Location of another scheme is refused", answer(302, "ftp://a.example/m"), "http://a.example/m", 0, plain,
         Kind::refused, "ftp://a.example/m: not an http:// or https:// URL"},
        {"from https another scheme is a downgrade first", answer(302, "ftp://a.example/m"), "https://a.example/m", 0, plain,
         Kind::refused, "from https to plain http"},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        const client::NextHop step = client::next_hop(c.response, c.current, c.followed, c.rule);
        CHECK(step.kind == c.kind);
        if (c.kind == Kind::follow) CHECK(step.url == c.expect);
        if (c.kind == Kind::refused) CHECK_THAT(step.error, Catch::Contains(c.expect));
    }
    CHECK_THROWS_AS(client::next_hop(answer(302, "http://[bad"), "http://a.example/m", 0), client::HttpError);
}

TEST_CASE("the model URL's query goes to shards on its origin only, unless asked to go anywhere", "[client][redirect]") {
    struct Case {
        std::string model, path;
        bool anywhere;
        std::string url;
    };
    for (const Case& c : {Case{"https://a.example/m/model.json?token=s", "g1.bin", false, "https://a.example/m/g1.bin?token=s"},
                          Case{"https://a.example/m/model.json?token=s", "https://b.example/g1.bin", false, "https://b.example/g1.bin"},
                          Case{"https://a.example/m/model.json?token=s", "https://b.example/g1.bin", true, "https://b.example/g1.bin?token=s"},
                          Case{"https://A.example:443/m/model.json?t=1", "https://a.example/g.bin", false, "https://a.example/g.bin?t=1"},
                          Case{"http://a.example/m/model.json?t=1", "https://a.example/g.bin", false, "https://a.example/g.bin"},
                          Case{"https://a.example/m/model.json", "w/g1.bin?x=1", false, "https://a.example/m/w/g1.bin"},
                          Case{"https://a.example/m/model.json?t=1", "w/g1.bin?x=1", true, "https://a.example/m/w/g1.bin?t=1"}}) {
        INFO(c.model << " + " << c.path);
        CHECK(client::shard_url(c.model, c.path, c.anywhere) == std::optional<std::string>(c.url));
    }
    CHECK_FALSE(client::shard_url("not a url", "g1.bin"));
    CHECK(client::origin_of("https://A.Example/x?y") == "https://a.example:443");
    CHECK(client::origin_of("mailto:x@y").empty());
}

TEST_CASE("a chain is followed across servers and each hop is reported, and a hop may end it", "[client][redirect]") {
    CannedServer last({}, ok);
    CannedServer middle({}, redirect_to(last.base() + "/c"));
    CannedServer first({}, redirect_to(middle.base() + "/b"));
    auto send = [](const client::HttpUrl& u) { return client::http_request(u, "GET", {}, true); };
    std::vector<std::string> hops;
    auto r = client::follow_redirects(first.base() + "/a", send, {}, [&](const client::HttpUrl& u, const client::HttpResponse&) {
        hops.push_back(u.text);
        return true;
    });
    CHECK(r.status == 200);
    CHECK(r.body == "ok");
    CHECK(hops == std::vector<std::string>{first.base() + "/a", middle.base() + "/b", last.base() + "/c"});
    auto stopped = client::follow_redirects(first.base() + "/a", send, {}, [](const client::HttpUrl&, const client::HttpResponse&) {
        return false;
    });
    CHECK(stopped.status == 302);
    CHECK(last.targets().size() == 1);
}

TEST_CASE("a redirect loop ends after 10 redirects with RedirectRefused, and a URL that is not http(s) is refused", "[client][redirect]") {
    CannedServer loop([](const std::string&) { return redirect_to("/again"); });
    auto send = [](const client::HttpUrl& u) { return client::http_request(u, "GET", {}, false); };
    CHECK_THROWS_WITH(client::follow_redirects(loop.base() + "/start", send), Catch::Contains("more than 10 redirects"));
    CHECK(loop.targets().size() == 11);
    CHECK_THROWS_AS(client::follow_redirects(loop.base() + "/start", send, {.max_redirects = 2, .allow_downgrade = false}), client::RedirectRefused);
    CHECK_THROWS_AS(client::follow_redirects("ftp://a.example/m", send), client::RedirectRefused);
}
