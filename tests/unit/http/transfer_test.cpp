// Pure rules of the transfer path: preconditions, ranges, content codings, cache-control globs.
#include "catch.hpp"

#include "http/cache_control.hpp"
#include "http/conditional.hpp"
#include "base/http_date.hpp"
#include "http/encoding.hpp"
#include "http/range.hpp"

#include <boost/beast/http/fields.hpp>

using namespace modelhost::http;
using modelhost::format_http_date;
using modelhost::parse_http_date;
namespace bhttp = boost::beast::http;
using K = RangeRequest::Kind;

namespace {

const std::string etag = "\"a1-400-17\"";
const std::time_t modified = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
const std::time_t now = 1800000000;

Precondition eval(std::vector<std::pair<std::string, std::string>> headers, bhttp::verb m = bhttp::verb::get) {
    bhttp::fields f;
    for (const auto& [n, v] : headers) f.set(n, v);
    return evaluate_preconditions(f, m, Validators{etag, modified}, now);
}

}  // namespace

TEST_CASE("preconditions follow RFC 9110 13.2.2: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since", "[conditional]") {
    const auto P = Precondition::proceed, N = Precondition::not_modified, F = Precondition::failed;
    const std::string old_date = "Sat, 05 Nov 1994 08:49:37 GMT", same = "Sun, 06 Nov 1994 08:49:37 GMT";
    CHECK(eval({}) == P);
    CHECK(eval({{"If-None-Match", etag}}) == N);
    CHECK(eval({{"If-None-Match", "W/" + etag}}) == N);  // weak comparison
    CHECK(eval({{"If-None-Match", "\"x\", " + etag}}) == N);
    CHECK(eval({{"If-None-Match", "*"}}) == N);
    CHECK(eval({{"If-None-Match", "\"other\""}}) == P);
    CHECK(eval({{"If-None-Match", etag}}, bhttp::verb::head) == N);
    CHECK(eval({{"If-None-Match", etag}}, bhttp::verb::options) == F);  // not GET/HEAD: 412
    CHECK(eval({{"If-Match", etag}}) == P);
    CHECK(eval({{"If-Match", "*"}}) == P);
    CHECK(eval({{"If-Match", "W/" + etag}}) == F);  // strong comparison never matches a weak tag
    CHECK(eval({{"If-Match", "\"other\""}}) == F);
    CHECK(eval({{"If-Unmodified-Since", old_date}}) == F);
    CHECK(eval({{"If-Unmodified-Since", same}}) == P);
    CHECK(eval({{"If-Match", etag}, {"If-Unmodified-Since", old_date}}) == P);  // If-Match wins over IUS
    CHECK(eval({{"If-Match", "\"other\""}, {"If-None-Match", etag}}) == F);  // 412 before 304
    CHECK(eval({{"If-Modified-Since", same}}) == N);
    CHECK(eval({{"If-Modified-Since", old_date}}) == P);
    CHECK(eval({{"If-Modified-Since", "not a date"}}) == P);
    CHECK(eval({{"If-Modified-Since", "Sun, 06 Nov 2099 08:49:37 GMT"}}) == P);  // future dates are invalid
    CHECK(eval({{"If-None-Match", "\"other\""}, {"If-Modified-Since", same}}) == P);  // INM present: IMS ignored
    CHECK(eval({{"If-Modified-Since", same}}, bhttp::verb::options) == P);
}

TEST_CASE("a validator not known yet (a file still arriving) is ignored by its conditions, and '*' still matches", "[conditional]") {
    const auto P = Precondition::proceed, N = Precondition::not_modified, F = Precondition::failed;
    const std::string date = "Sun, 06 Nov 1994 08:49:37 GMT";
    auto none = [&](std::vector<std::pair<std::string, std::string>> headers) {
        bhttp::fields f;
        for (const auto& [n, v] : headers) f.set(n, v);
        return evaluate_preconditions(f, bhttp::verb::get, Validators{"", std::nullopt}, now);
    };
    CHECK(none({{"If-Modified-Since", date}}) == P);  // no Last-Modified: never "not modified" by date
    CHECK(none({{"If-Unmodified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"}}) == P);
    CHECK(none({{"If-None-Match", etag}}) == P);
    CHECK(none({{"If-None-Match", "*"}}) == N);  // a representation exists
    CHECK(none({{"If-Match", "*"}}) == P);
    CHECK(none({{"If-Match", etag}}) == F);
    CHECK_FALSE(if_range_allows(date, Validators{etag, std::nullopt}));
    // Only the ETag unknown (server.etag "content" while the bytes arrive): the date still decides.
    bhttp::fields f;
    f.set("If-Modified-Since", date);
    CHECK(evaluate_preconditions(f, bhttp::verb::get, Validators{"", modified}, now) == N);
    CHECK(if_range_allows(date, Validators{"", modified}));
}

TEST_CASE("HTTP dates are read in all three RFC 9110 forms", "[conditional]") {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == modified);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == modified);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == modified);
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"));
    CHECK_FALSE(parse_http_date("yesterday"));
    CHECK_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
    CHECK(format_http_date(modified) == "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST_CASE("If-Range allows the range only for the same strong ETag or exactly the Last-Modified date", "[conditional]") {
    Validators v{etag, modified};
    CHECK(if_range_allows(etag, v));
    CHECK_FALSE(if_range_allows("W/" + etag, v));
    CHECK_FALSE(if_range_allows("\"other\"", v));
    CHECK(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", v));
    CHECK_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:38 GMT", v));
    CHECK_FALSE(if_range_allows("garbage", v));
}

TEST_CASE("byte ranges are parsed against the representation length", "[range]") {
    struct Row {
        const char* header;
        std::uint64_t size;
        K kind;
        std::uint64_t first, length;
    };
    const std::vector<Row> rows{
        {"bytes=0-99", 1000, K::single, 0, 100},
        {"bytes=100-", 1000, K::single, 100, 900},
        {"bytes=-100", 1000, K::single, 900, 100},
        {"bytes=990-2000", 1000, K::single, 990, 10},       // the end is clamped to the last byte
        {"bytes=-5000", 1000, K::single, 0, 1000},          // a suffix longer than the file selects the whole file
        {"Bytes = 5-5", 1000, K::single, 5, 1},
        {"bytes=0-0", 1, K::single, 0, 1},
        {"bytes=0-1,5-9", 1000, K::several, 0, 2},
        {"bytes=0-1, 2000-3000", 1000, K::single, 0, 2},   // only one satisfiable range
        {"bytes=1000-", 1000, K::unsatisfiable, 0, 0},
        {"bytes=5000-6000", 1000, K::unsatisfiable, 0, 0},
        {"bytes=-0", 1000, K::unsatisfiable, 0, 0},
        {"bytes=0-", 0, K::unsatisfiable, 0, 0},            // nothing of an empty file can be selected
        {"bytes=9-5", 1000, K::none, 0, 0},                 // last < first: the header is invalid, ignored
        {"bytes=abc", 1000, K::none, 0, 0},
        {"bytes=1-2-3", 1000, K::none, 0, 0},
        {"bytes=", 1000, K::none, 0, 0},
        {"items=0-5", 1000, K::none, 0, 0},
        {"0-5", 1000, K::none, 0, 0},
        {"bytes=0-99999999999999999999", 1000, K::none, 0, 0},
        {"bytes=--5", 1000, K::none, 0, 0},
    };
    for (const auto& r : rows) {
        INFO(r.header << " of " << r.size);
        auto got = parse_range(r.header, r.size);
        CHECK(static_cast<int>(got.kind) == static_cast<int>(r.kind));
        if (r.kind == K::single || r.kind == K::several) {
            CHECK(got.first == r.first);
            CHECK(got.length == r.length);
        }
    }
}

TEST_CASE("Accept-Encoding q-values choose among the codings that exist", "[encoding]") {
    auto pick = [](const char* h, bool br, bool gz) { return choose_coding(parse_accept_encoding(h), br, gz); };
    CHECK(pick("gzip, deflate, br", true, true) == Coding::br);
    CHECK(pick("gzip, deflate, br", false, true) == Coding::gzip);
    CHECK(pick("gzip, deflate, br", false, false) == Coding::identity);
    CHECK(pick("br;q=0.5, gzip;q=0.8", true, true) == Coding::gzip);
    CHECK(pick("br;q=0, gzip", true, true) == Coding::gzip);
    CHECK(pick("*", true, true) == Coding::br);
    CHECK(pick("*;q=0.1, identity;q=0.5", true, false) == Coding::identity);
    CHECK(pick("identity", true, true) == Coding::identity);
    CHECK(pick("", true, true) == Coding::identity);
    CHECK(pick("GZIP", false, true) == Coding::gzip);
    CHECK(pick("gzip;q=abc", false, true) == Coding::identity);
    CHECK(compressible("application/json"));
    CHECK(compressible("application/wasm"));
    CHECK(compressible("text/javascript; charset=utf-8"));
    CHECK_FALSE(compressible("application/octet-stream"));
    CHECK_FALSE(compressible("image/png"));
}

TEST_CASE("cache_control rules: a glob without '/' matches the file name, first match wins", "[cache-control]") {
    CacheControl cc(std::vector<modelhost::config::CacheControlRule>{
        {"*.json", "no-cache"}, {"/v*/**", "public, max-age=31536000, immutable"}, {"**", "public, max-age=86400"}});
    CHECK(cc.value_for("/face/model.json") == "no-cache");
    CHECK(cc.value_for("/v3/face/model.json") == "no-cache");
    CHECK(cc.value_for("/v3/face/group1-shard1of1.bin") == "public, max-age=31536000, immutable");
    CHECK(cc.value_for("/face/group1-shard1of1.bin") == "public, max-age=86400");
    CacheControl none(std::vector<modelhost::config::CacheControlRule>{{"*.bin", "x"}});
    CHECK(none.value_for("/a/model.json").empty());
}
