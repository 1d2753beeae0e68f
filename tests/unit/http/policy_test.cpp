// The compiled policy: routes by first match, and the caches behind the representation headers and gzip.
#include "catch.hpp"

#include "config/config.hpp"
#include "fs/file_store.hpp"
#include "http/gzip_cache.hpp"
#include "http/head_cache.hpp"
#include "http/policy.hpp"
#include "temp_dir.hpp"

#include <thread>

using namespace modelhost;
using namespace modelhost::http;
using modelhost::test::TempDir;

TEST_CASE("the first matching route wins, other paths and refused targets get the top level", "[policy]") {
    TempDir root;
    config::Config cfg;
    cfg.server.root = root.path().string();
    config::RouteConfig a, b;
    a.path = "/private/**";
    a.headers = config::HeaderList{{"X-Route", "a"}};
    b.path = "/private/open/**";
    b.headers = config::HeaderList{{"X-Route", "b"}};
    cfg.routes = {a, b};
    Policy p(cfg);
    CHECK(p.route_for("/private/open/x.json").fixed_lines.find("X-Route: a") != std::string::npos);
    CHECK(&p.route_for("/public/x.json") == &p.top);
    CHECK(&p.route_for("") == &p.top);
    CHECK(&p.route_for("/PRIVATE/x.json") == &p.top);  // case-sensitive, like the file system
}

TEST_CASE("a representation head counts only for the file version it was built from", "[policy][head_cache]") {
    HeadCache cache;
    fs::Lookup v1;
    v1.result = fs::Lookup::Result::found;
    v1.inode = 7;
    v1.size = 10;
    v1.mtime = {100, 5};
    auto head = std::make_shared<RepresentationHead>();
    head->etag = "\"v1\"";
    cache.store("a.json", HeadCache::Slot::identity, v1, head);
    CHECK(cache.find("a.json", HeadCache::Slot::identity, v1) == head);
    CHECK_FALSE(cache.find("a.json", HeadCache::Slot::br_file, v1));
    fs::Lookup v2 = v1;
    v2.mtime.tv_nsec = 6;  // rewritten within the same second
    CHECK_FALSE(cache.find("a.json", HeadCache::Slot::identity, v2));
    fs::Lookup v3 = v1;
    v3.inode = 8;  // replaced
    CHECK_FALSE(cache.find("a.json", HeadCache::Slot::identity, v3));
}

TEST_CASE("gzip is computed once per file version, refused when it would not shrink, and one at a time per version", "[policy][gzip_cache]") {
    TempDir root;
    root.write("a.json", std::string(5000, 'a'));
    root.write("r.bin", "\x01\x9f\x33\x71\xee");
    fs::FileStore store(root.path().string(), 64 * 1024);
    GzipCache cache(1 << 20, 1 << 20);
    auto a = store.open("a.json");
    auto gz = cache.get("a.json", "\"e1\"", a);
    REQUIRE(gz);
    CHECK(gz->size() < 200);
    CHECK(cache.get("a.json", "\"e1\"", a) == gz);  // cached: the same bytes, not recompressed
    CHECK(cache.get("a.json", "\"e2\"", a) != gz);  // another version: compressed anew
    CHECK_FALSE(cache.get("r.bin", "\"r\"", store.open("r.bin")));  // would grow
    GzipCache small_limit(100, 1 << 20);
    CHECK_FALSE(small_limit.get("a.json", "\"e1\"", a));  // over gzip_max_bytes
}
