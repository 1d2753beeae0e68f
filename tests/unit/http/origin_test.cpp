// Origin parsing and allow_origins matching: exact after normalising, patterns that cannot be fooled.
#include "catch.hpp"

#include "http/origin.hpp"

#include <variant>

using namespace modelhost::http;

namespace {

bool allowed(const std::string& entry, const std::string& origin) {
    auto rule = compile_origin_rule(entry);
    REQUIRE(std::holds_alternative<OriginRule>(rule));
    auto o = parse_origin(origin);
    return o && matches(std::get<OriginRule>(rule), *o);
}

}  // namespace

TEST_CASE("origins compare scheme, host and port exactly after normalising case and default ports", "[origin]") {
    CHECK(allowed("https://a.com", "https://a.com"));
    CHECK(allowed("https://a.com:443", "https://a.com"));
    CHECK(allowed("https://a.com", "https://a.com:443"));
    CHECK(allowed("http://a.com:80", "http://a.com"));
    CHECK(allowed("https://App.Example.COM", "https://app.example.com"));
    CHECK(allowed("https://app.example.com", "HTTPS://APP.EXAMPLE.COM"));
    CHECK(allowed("http://localhost:5173", "http://localhost:5173"));
    CHECK(allowed("http://[::1]:8080", "http://[::1]:8080"));
    CHECK_FALSE(allowed("https://a.com", "http://a.com"));
    CHECK_FALSE(allowed("https://a.com", "https://a.com:8443"));
    CHECK_FALSE(allowed("http://localhost:5173", "http://localhost:5174"));
    CHECK_FALSE(allowed("http://localhost:5173", "http://127.0.0.1:5173"));
    CHECK_FALSE(allowed("https://a.com", "https://b.a.com"));
    CHECK_FALSE(allowed("https://a.com", "https://a.com.evil.com"));
}

TEST_CASE("a host wildcard matches subdomains and never look-alikes, the bare domain or another scheme", "[origin]") {
    CHECK(allowed("https://*.example.com", "https://app.example.com"));
    CHECK(allowed("https://*.example.com", "https://a.b.example.com"));
    CHECK(allowed("https://*.example.com:8443", "https://app.example.com:8443"));
    CHECK_FALSE(allowed("https://*.example.com", "https://example.com"));
    CHECK_FALSE(allowed("https://*.example.com", "https://example.com.evil.com"));
    CHECK_FALSE(allowed("https://*.example.com", "https://evilexample.com"));
    CHECK_FALSE(allowed("https://*.example.com", "https://evil.com/.example.com"));
    CHECK_FALSE(allowed("https://*.example.com", "http://app.example.com"));
    CHECK_FALSE(allowed("https://*.example.com", "https://app.example.com:8443"));
    CHECK_FALSE(allowed("https://*.example.com", "https://.example.com"));
    CHECK_FALSE(allowed("https://*.example.com", "null"));
    CHECK(allowed("https://pr-*.preview.example.com", "https://pr-42.preview.example.com"));
    CHECK_FALSE(allowed("https://pr-*.preview.example.com", "https://pr-.preview.example.com"));
    CHECK_FALSE(allowed("https://pr-*.preview.example.com", "https://x.pr-1.preview.example.com"));
    CHECK_FALSE(allowed("https://pr-*.preview.example.com", "https://main.preview.example.com"));
}

TEST_CASE("a port wildcard matches any port of that scheme and host", "[origin]") {
    CHECK(allowed("http://localhost:*", "http://localhost:5173"));
    CHECK(allowed("http://localhost:*", "http://localhost:3000"));
    CHECK(allowed("http://localhost:*", "http://localhost"));
    CHECK_FALSE(allowed("http://localhost:*", "https://localhost:5173"));
    CHECK_FALSE(allowed("http://localhost:*", "http://localhost.evil.com:5173"));
    CHECK_FALSE(allowed("http://localhost:*", "http://127.0.0.1:5173"));
}

TEST_CASE("null is allowed only when listed, never by a pattern or an exact origin", "[origin]") {
    CHECK(allowed("null", "null"));
    CHECK_FALSE(allowed("null", "https://null"));
    CHECK_FALSE(allowed("http://localhost:*", "null"));
    CHECK_FALSE(allowed("https://*.example.com", "null"));
    CHECK(allowed("*", "null"));
}

TEST_CASE("malformed Origin headers parse to nothing and so are never allowed", "[origin]") {
    for (const char* bad : {"", " ", "https://", "https://a.com/", "https://a.com/path", "https://a.com?x", "https://a.com#x",
                            "https://user@a.com", "https://a.com:", "https://a.com:99999", "https://a.com:-1",
                            "https://a.com:80x", "a.com", "//a.com", "https://a..com", "https://.a.com", "https://a.com.",
                            "https://a b.com", "https://a%2ecom", "https://[::1", "https://a.com\\@b.com", "*", "Null",
                            "https://*.example.com", "ht tp://a.com", "1http://a.com"}) {
        INFO("Origin: \"" << bad << "\"");
        CHECK_FALSE(parse_origin(bad).has_value());
    }
}

TEST_CASE("an origin with nothing after the scheme is refused, not read past its end (found by fuzz_origin)", "[origin]") {
    CHECK_FALSE(modelhost::http::parse_origin("http://").has_value());
    CHECK_FALSE(modelhost::http::parse_origin("ht://").has_value());
    CHECK(std::holds_alternative<std::string>(modelhost::http::compile_origin_rule("https://")));
}
