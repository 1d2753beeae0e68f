// Randomised inputs through the header and target parsers, each checked against an invariant a user relies on, and
// each counting the cases it exercised (a generator that never reaches a branch fails the test instead of passing).
#include "catch.hpp"

#include "http/conditional.hpp"
#include "base/http_date.hpp"
#include "http/encoding.hpp"
#include "http/origin.hpp"
#include "http/range.hpp"
#include "http/target.hpp"

#include <map>
#include <random>

using namespace modelhost::http;
using modelhost::format_http_date;
using modelhost::parse_http_date;

namespace {

// Strings biased towards the characters that matter to these parsers.
std::string random_input(std::mt19937& rng) {
    static const std::string alphabet = "/.%2eEfF5cC0aA:*-=,; \t\"\\?#@[]bytesW";
    std::uniform_int_distribution<int> len(0, 40), pick(0, static_cast<int>(alphabet.size()) - 1), raw(0, 255), coin(0, 9);
    std::string s;
    for (int i = len(rng); i > 0; --i) s += coin(rng) == 0 ? static_cast<char>(raw(rng)) : alphabet[static_cast<std::size_t>(pick(rng))];
    return s;
}

// A Range header made of 1-3 well-formed or slightly broken range-specs.
std::string random_range(std::mt19937& rng) {
    std::uniform_int_distribution<int> specs(1, 3), kind(0, 9), num(0, 6000);
    std::string h = "bytes=";
    for (int i = specs(rng); i > 0; --i) {
        if (h.size() > 6) h += ", ";
        switch (kind(rng)) {
            case 0: h += "-" + std::to_string(num(rng)); break;                   // suffix
            case 1: h += std::to_string(num(rng)) + "-"; break;                   // open-ended
            case 2: h += random_input(rng).substr(0, 4); break;                   // junk
            default: {
                int a = num(rng);
                h += std::to_string(a) + "-" + std::to_string(a + num(rng) / 10);  // closed
            }
        }
    }
    return h;
}

}  // namespace

TEST_CASE("no target, however random, yields a segment that could leave the root", "[property]") {
    std::mt19937 rng(20261124);
    int accepted = 0, refused = 0;
    for (int i = 0; i < 200000; ++i) {
        std::string t = random_input(rng);
        if (i % 2) t.insert(t.begin(), '/');
        Target r = parse_target(t);
        if (r.verdict != Target::Verdict::ok) {
            REQUIRE(r.segments().empty());
            ++refused;
            continue;
        }
        ++accepted;
        for (const auto& seg : r.segments()) {
            INFO("target: " << t);
            REQUIRE(!seg.empty());
            REQUIRE(seg != "..");
            REQUIRE(seg != ".");
            REQUIRE(seg.front() != '.');
            REQUIRE(seg.find_first_of(std::string("/\\\0", 3)) == std::string::npos);
        }
    }
    CHECK(accepted > 1000);
    CHECK(refused > 1000);
}

// Targets with nothing to decode skip Boost.URL (a fast path): each must come out as it does through Boost.URL, which
// a query ('?') or percent-encoding every byte but the slashes forces.
TEST_CASE("a target with nothing to decode parses as its query-carrying and percent-encoded forms do", "[property]") {
    std::mt19937 rng(20261126);
    static const std::string plain = "/./..abz.AZ09-_~!$&'()*+,;=:@";
    std::uniform_int_distribution<int> len(0, 30), pick(0, static_cast<int>(plain.size()) - 1);
    std::map<Target::Verdict, int> seen;
    for (int i = 0; i < 100000; ++i) {
        std::string t = "/";
        for (int n = len(rng); n > 0; --n) t += plain[static_cast<std::size_t>(pick(rng))];
        std::string encoded;
        for (unsigned char c : t) {
            static constexpr char hex[] = "0123456789ABCDEF";
            if (c == '/') encoded += '/';
            else encoded += {'%', hex[c >> 4], hex[c & 15]};
        }
        const Target direct = parse_target(t);
        INFO("target: " << t);
        for (const std::string& other : {t + "?q=1", encoded}) {
            const Target slow = parse_target(other);
            REQUIRE(direct.verdict == slow.verdict);
            REQUIRE(direct.path == slow.path);
            REQUIRE(std::string_view(direct.reason) == std::string_view(slow.reason));
        }
        ++seen[direct.verdict];
    }
    CHECK(seen[Target::Verdict::ok] > 1000);
    CHECK(seen[Target::Verdict::bad_request] > 1000);  // dot segments
    CHECK(seen[Target::Verdict::not_found] > 1000);    // hidden files
}

TEST_CASE("a parsed Range always lies inside the representation and round-trips through Content-Range", "[property]") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::uint64_t> size_of(0, 5000);
    std::map<RangeRequest::Kind, int> seen;
    for (int i = 0; i < 100000; ++i) {
        std::string h = i % 4 ? random_range(rng) : "bytes=" + random_input(rng);
        std::uint64_t size = size_of(rng);
        RangeRequest r = parse_range(h, size);
        ++seen[r.kind];
        INFO(h << " of " << size);
        if (r.kind == RangeRequest::Kind::single || r.kind == RangeRequest::Kind::several) {
            REQUIRE(r.length > 0);
            REQUIRE(r.first < size);
            REQUIRE(r.length <= size - r.first);
        }
        if (r.kind == RangeRequest::Kind::single) {
            // What 206 would announce, asked again, selects exactly the same bytes.
            std::string again = "bytes=" + std::to_string(r.first) + "-" + std::to_string(r.first + r.length - 1);
            RangeRequest same = parse_range(again, size);
            REQUIRE(same.kind == RangeRequest::Kind::single);
            REQUIRE(same.first == r.first);
            REQUIRE(same.length == r.length);
        }
        if (size == 0) REQUIRE(r.kind != RangeRequest::Kind::single);
    }
    CHECK(seen[RangeRequest::Kind::single] > 1000);
    CHECK(seen[RangeRequest::Kind::several] > 1000);
    CHECK(seen[RangeRequest::Kind::unsatisfiable] > 100);
    CHECK(seen[RangeRequest::Kind::none] > 1000);
}

TEST_CASE("choose_coding only picks a coding that is offered and accepted with q > 0", "[property]") {
    std::mt19937 rng(11);
    const std::vector<std::string> names = {"br", "gzip", "x-gzip", "identity", "*", "deflate", "BR", "Gzip"};
    const std::vector<std::string> qs = {"", ";q=0", ";q=0.5", ";q=1", ";q=0.001", ";q=2", ";q=x", " ; q=0.8"};
    std::uniform_int_distribution<std::size_t> n_items(0, 4), name(0, names.size() - 1), q(0, qs.size() - 1);
    std::uniform_int_distribution<int> coin(0, 1);
    std::map<Coding, int> chosen;
    for (int i = 0; i < 100000; ++i) {
        std::string header;
        for (std::size_t k = n_items(rng); k > 0; --k) header += (header.empty() ? "" : ", ") + names[name(rng)] + qs[q(rng)];
        bool have_br = coin(rng), have_gzip = coin(rng);
        AcceptEncoding a = parse_accept_encoding(header);
        Coding c = choose_coding(a, have_br, have_gzip);
        ++chosen[c];
        INFO(header << " br offered " << have_br << " gzip offered " << have_gzip);
        auto effective = [&a](double q_value) { return q_value >= 0 ? q_value : a.any; };
        if (c == Coding::br) REQUIRE((have_br && effective(a.br) > 0));
        if (c == Coding::gzip) REQUIRE((have_gzip && effective(a.gzip) > 0));
        if (c == Coding::identity && have_br && effective(a.br) > 0 && a.identity < 0) REQUIRE(false);  // br was better
    }
    CHECK(chosen[Coding::br] > 1000);
    CHECK(chosen[Coding::gzip] > 1000);
    CHECK(chosen[Coding::identity] > 1000);
}

TEST_CASE("a host pattern matches exactly the subdomains of its domain, on its scheme and port", "[property]") {
    std::mt19937 rng(99);
    auto rule = std::get<OriginRule>(compile_origin_rule("https://*.example.com"));
    const std::vector<std::string> schemes = {"https", "http", "HTTPS"};
    const std::vector<std::string> hosts = {"a.example.com", "x.y.example.com", "example.com", "aexample.com",
                                            "a.example.com.evil", "A.EXAMPLE.COM", "a.example.co", "-.example.com"};
    const std::vector<std::string> ports = {"", ":443", ":8443", ":80"};
    std::uniform_int_distribution<std::size_t> s(0, schemes.size() - 1), h(0, hosts.size() - 1), p(0, ports.size() - 1);
    int matched = 0, refused = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string value = schemes[s(rng)] + "://" + hosts[h(rng)] + ports[p(rng)];
        auto o = parse_origin(value);
        if (!o) continue;
        bool expected = o->scheme == "https" && o->port == 443 && o->host.size() > 12 && o->host.ends_with(".example.com");
        INFO(value);
        REQUIRE(matches(rule, *o) == expected);
        ++(expected ? matched : refused);
    }
    for (int i = 0; i < 20000; ++i) {  // random bytes: whatever parses never matches "null" by a pattern
        auto o = parse_origin(i % 100 ? random_input(rng) : "null");
        if (o && o->opaque) REQUIRE_FALSE(matches(rule, *o));
    }
    CHECK(matched > 1000);
    CHECK(refused > 1000);
}

TEST_CASE("HTTP dates round-trip through format and parse, and If-Range matches only the same validator", "[property]") {
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<std::int64_t> t_of(0, (std::int64_t{1} << 33) - 1);
    int checked = 0;
    for (int i = 0; i < 20000; ++i) {
        auto t = static_cast<std::time_t>(t_of(rng));
        std::string text = format_http_date(t);
        INFO(text);
        REQUIRE(text.size() == 29);
        REQUIRE(parse_http_date(text) == std::optional<std::time_t>(t));
        const std::string etag = "\"e-" + std::to_string(t) + "\"";
        Validators v{etag, t};
        REQUIRE(if_range_allows(text, v));
        REQUIRE(if_range_allows(etag, v));
        REQUIRE_FALSE(if_range_allows(format_http_date(t + 1), v));
        REQUIRE_FALSE(if_range_allows("W/" + etag, v));  // a weak tag never allows a range
        ++checked;
    }
    CHECK(checked == 20000);
}
