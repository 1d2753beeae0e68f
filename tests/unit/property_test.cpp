// Randomised inputs through every header and target parser, under ASan/UBSan: the invariants hold for any bytes.
#include "catch.hpp"

#include "http/conditional.hpp"
#include "http/encoding.hpp"
#include "http/origin.hpp"
#include "http/range.hpp"
#include "http/target.hpp"

#include <random>

using namespace modelhost::http;

namespace {

// Strings biased towards the characters that matter to these parsers.
std::string random_input(std::mt19937& rng) {
    static const std::string alphabet = "/.%2eEfF5cC0aA:*-=,; \t\"\\?#@[]bytesW";
    std::uniform_int_distribution<int> len(0, 40), pick(0, static_cast<int>(alphabet.size()) - 1), raw(0, 255), coin(0, 9);
    std::string s;
    for (int i = len(rng); i > 0; --i) s += coin(rng) == 0 ? static_cast<char>(raw(rng)) : alphabet[static_cast<std::size_t>(pick(rng))];
    return s;
}

}  // namespace

TEST_CASE("no target, however random, yields a segment that could leave the root", "[property]") {
    std::mt19937 rng(20261124);
    for (int i = 0; i < 200000; ++i) {
        std::string t = random_input(rng);
        if (i % 2) t.insert(t.begin(), '/');
        Target r = parse_target(t);
        if (r.verdict != Target::Verdict::ok) {
            REQUIRE(r.segments.empty());
            continue;
        }
        for (const auto& seg : r.segments) {
            INFO("target: " << t);
            REQUIRE(!seg.empty());
            REQUIRE(seg != "..");
            REQUIRE(seg != ".");
            REQUIRE(seg.front() != '.');
            REQUIRE(seg.find_first_of(std::string("/\\\0", 3)) == std::string::npos);
        }
    }
}

TEST_CASE("random Range headers select only bytes inside the representation", "[property]") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::uint64_t> size_of(0, 5000);
    for (int i = 0; i < 100000; ++i) {
        std::string h = (i % 3 ? "bytes=" : "") + random_input(rng);
        std::uint64_t size = size_of(rng);
        RangeRequest r = parse_range(h, size);
        if (r.kind == RangeRequest::Kind::single || r.kind == RangeRequest::Kind::several) {
            INFO(h << " of " << size);
            REQUIRE(r.length > 0);
            REQUIRE(r.first < size);
            REQUIRE(r.first + r.length <= size);
        }
    }
}

TEST_CASE("random Origin, Accept-Encoding, ETag and date values never crash and parse consistently", "[property]") {
    std::mt19937 rng(99);
    auto rule = std::get<OriginRule>(compile_origin_rule("https://*.example.com"));
    for (int i = 0; i < 100000; ++i) {
        std::string v = random_input(rng);
        if (auto o = parse_origin(v); o && !o->opaque) {
            REQUIRE(!o->scheme.empty());
            REQUIRE(!o->host.empty());
            (void)matches(rule, *o);
        }
        (void)choose_coding(parse_accept_encoding(v), true, true);
        (void)compile_origin_rule(v);
        (void)parse_http_date(v);
        (void)if_range_allows(v, Validators{"\"a-b-c\"", 0});
    }
    SUCCEED("no crash or sanitizer report over 100000 random values");
}
