// Behind a shared cache: Debian's Varnish running deploy/varnish/modelhost.vcl in front of two modelhost origins
// (round robin), each serving its own copy of the same files (mtimes kept, as deployments copy them), with an
// allow-list CORS policy. What a shared cache must never do: hand one site's Access-Control-Allow-Origin to another.
// What it should do: serve shards from the cache, cut ranges from them, and revalidate model.json with a 304 from
// whichever origin it asks.
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <boost/beast/http/write.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::string source_dir = MODELHOST_SOURCE_DIR;
const std::string site_a = "https://a.example", site_b = "https://b.example", refused = "https://c.example";

constexpr std::size_t shard_bytes = 300000;  // 75,000 float32 weights

std::string shard() {
    std::string bytes(shard_bytes, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) ^ (i >> 9));
    return bytes;
}

const std::string manifest = R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"w","shape":[75000],"dtype":"float32"}]}]})";

// One origin: modelhost as its own process (its access log is its output) on its own copy of the model.
struct Origin {
    TempDir root, config;
    Process server;
    std::uint16_t port;

    Origin()
        : server({binary, "--config",
                  config.write("c.json", R"({"cors": {"allow_origins": [")" + site_a + R"(", ")" + site_b + R"("]}})").string(),
                  "--root", write_model(root).string(), "--port", "0"}),
          port(server.wait_for_port()) {
        REQUIRE(port != 0);
    }

    static fsys::path write_model(const TempDir& root) {
        const auto copied = fsys::file_time_type(std::chrono::hours(24 * 365 * 50));  // the same mtime in both copies
        for (const auto& [name, bytes] : {std::pair<std::string, std::string>{"m/model.json", manifest}, {"m/group1-shard1of1.bin", shard()}})
            fsys::last_write_time(root.write(name, bytes), copied);
        return root.path();
    }
};

// varnishd in the foreground with the deployed VCL; backends.vcl (the one file a deployment edits) names the origins.
struct Varnish {
    TempDir dir;
    std::uint16_t port = unused_port();
    Process daemon;

    Varnish(const Origin& a, const Origin& b)
        : daemon({"/usr/sbin/varnishd", "-F", "-j", "none", "-n", (dir.path() / "work").string(), "-a",
                  "127.0.0.1:" + std::to_string(port), "-f", source_dir + "/deploy/varnish/modelhost.vcl", "-p",
                  "vcl_path=" + write_backends(a, b).string() + ":" + source_dir + "/deploy/varnish", "-s", "malloc,64m"}) {
        for (int i = 0; i < 100; ++i) {  // up to 20 s for the VCL to compile and the child to listen
            try {
                if (request(port, "GET", "/.modelhost/healthz").result_int() == 200) return;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        FAIL("varnishd did not start: " << daemon.output());
    }
    ~Varnish() {
        daemon.signal(SIGTERM);  // the manager stops its cache child too
        daemon.wait(std::chrono::seconds(10));
    }

    fsys::path write_backends(const Origin& a, const Origin& b) {
        dir.write("vcl/backends.vcl", "backend origin_a { .host = \"127.0.0.1\"; .port = \"" + std::to_string(a.port) + "\"; }\n"
                                      "backend origin_b { .host = \"127.0.0.1\"; .port = \"" + std::to_string(b.port) + "\"; }\n"
                                      "sub vcl_init {\n    new origins = directors.round_robin();\n"
                                      "    origins.add_backend(origin_a);\n    origins.add_backend(origin_b);\n}\n");
        return dir.path() / "vcl";
    }

    // A varnishstat counter ("MAIN.cache_hit").
    long stat(const std::string& counter) const {
        auto [code, out] = run_command({"/usr/bin/varnishstat", "-n", (dir.path() / "work").string(), "-1", "-f", counter});
        REQUIRE(code == 0);
        std::istringstream line(out);
        std::string name;
        long value = -1;
        line >> name >> value;
        return value;
    }
};

std::string header(const Response& r, const char* name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

// "Origin: ..." for a site, nothing for a request without one.
std::string origin_line(const std::string& site) { return site.empty() ? "" : "Origin: " + site + "\r\n"; }

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("through Varnish every site gets its own CORS answer and shards and ranges come from the cache", "[varnish][cors]") {
    REQUIRE(fsys::exists("/usr/sbin/varnishd"));  // scripts/deps installs Debian's varnish
    Origin a, b;
    Varnish cache(a, b);
    const std::string bytes = shard();
    int answers = 0, wrong = 0, shard_hits = 0;
    for (int round = 0; round < 3; ++round) {
        for (const std::string path : {"/m/model.json", "/m/group1-shard1of1.bin"}) {
            for (const std::string& site : {site_a, refused, site_b, std::string()}) {
                const std::string gzip = round == 1 ? "Accept-Encoding: gzip\r\n" : "";
                auto r = request(cache.port, "GET", path, origin_line(site) + gzip);
                INFO(path << " from " << (site.empty() ? "no Origin" : site) << " round " << round << "\n" << r.base());
                ++answers;
                CHECK(r.result_int() == 200);
                const bool allowed = site == site_a || site == site_b;
                wrong += header(r, "Access-Control-Allow-Origin") != (allowed ? site : "");
                if (gzip.empty()) CHECK(r.body() == (path == "/m/model.json" ? manifest : bytes));
                if (path != "/m/model.json" && round > 0) shard_hits += header(r, "X-Cache") == "hit";
            }
        }
    }
    CHECK(answers == 24);
    CHECK(wrong == 0);
    CHECK(shard_hits == 8);  // every shard answer after the first round, for each site and for none
    CHECK(cache.stat("MAIN.cache_hit") >= 8);

    // Preflights pass to an origin untouched: allowed sites get their own answer, the refused one none.
    for (const std::string& site : {site_a, site_b, refused}) {
        auto r = request(cache.port, "OPTIONS", "/m/group1-shard1of1.bin",
                         origin_line(site) + "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\n");
        CHECK(r.result_int() == (site == refused ? 403 : 204));
        CHECK(header(r, "Access-Control-Allow-Origin") == (site == refused ? "" : site));
    }

    // A range is cut from the cached shard, with the site's own CORS answer.
    auto ranged = request(cache.port, "GET", "/m/group1-shard1of1.bin", origin_line(site_b) + "Range: bytes=1000-1999\r\n");
    CHECK(ranged.result_int() == 206);
    CHECK(header(ranged, "Content-Range") == "bytes 1000-1999/300000");
    CHECK(ranged.body() == bytes.substr(1000, 1000));
    CHECK(header(ranged, "Access-Control-Allow-Origin") == site_b);
    CHECK(header(ranged, "X-Cache") == "hit");
}

TEST_CASE("model.json revalidates with a 304 from either origin, for the other's ETag, directly and through Varnish", "[varnish][validators]") {
    REQUIRE(fsys::exists("/usr/sbin/varnishd"));
    Origin a, b;
    for (const std::string& coding : {std::string(), std::string("Accept-Encoding: gzip\r\n")}) {
        auto from_a = request(a.port, "GET", "/m/model.json", coding);
        auto from_b = request(b.port, "GET", "/m/model.json", coding);
        REQUIRE_FALSE(header(from_a, "ETag").empty());
        CHECK(header(from_a, "ETag") == header(from_b, "ETag"));
        CHECK(request(b.port, "GET", "/m/model.json", coding + "If-None-Match: " + header(from_a, "ETag") + "\r\n").result_int() == 304);
        CHECK(request(a.port, "GET", "/m/model.json", coding + "If-None-Match: " + header(from_b, "ETag") + "\r\n").result_int() == 304);
    }

    const std::size_t direct_a = count(a.server.output(), "\"GET /m/model.json HTTP/1.1\" 304");
    const std::size_t direct_b = count(b.server.output(), "\"GET /m/model.json HTTP/1.1\" 304");
    Varnish cache(a, b);
    for (int i = 0; i < 6; ++i) {
        auto r = request(cache.port, "GET", "/m/model.json", origin_line(site_a));
        CHECK(r.result_int() == 200);
        CHECK(r.body() == manifest);
        CHECK(header(r, "Access-Control-Allow-Origin") == site_a);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the stored copy's 1 ms
    }
    // The first fetch stored it; each later use was a conditional fetch answered 304, alternating between origins.
    CHECK(cache.stat("MAIN.fetch_304") >= 4);
    CHECK(count(a.server.output(), "\"GET /m/model.json HTTP/1.1\" 304") - direct_a >= 2);
    CHECK(count(b.server.output(), "\"GET /m/model.json HTTP/1.1\" 304") - direct_b >= 2);

    // A browser revalidating its own copy through the cache gets a 304 too.
    auto first = request(cache.port, "GET", "/m/model.json", origin_line(site_b));
    auto again = request(cache.port, "GET", "/m/model.json", origin_line(site_b) + "If-None-Match: " + header(first, "ETag") + "\r\n");
    CHECK(again.result_int() == 304);
    CHECK(header(again, "Access-Control-Allow-Origin") == site_b);
}
