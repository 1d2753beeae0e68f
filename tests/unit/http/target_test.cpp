// Request-target normalisation against hostile payloads: nothing may name a file outside the root.
#include "catch.hpp"

#include "http/target.hpp"

#include <string>

using modelhost::http::parse_target;
using modelhost::http::Target;
using V = Target::Verdict;

namespace {

struct Row {
    std::string target;
    V verdict;
    std::string path;  // expected normalised path when ok
};

std::string name(V v) {
    switch (v) {
        case V::ok: return "ok";
        case V::asterisk: return "asterisk";
        case V::bad_request: return "400";
        case V::not_found: return "404";
        case V::too_long: return "414";
    }
    return "?";
}

}  // namespace

TEST_CASE("a plain target is decoded once and the query string is dropped", "[target]") {
    const std::vector<Row> rows{
        {"/demo/model.json", V::ok, "/demo/model.json"},
        {"/demo/model.json?tfjs-format=file", V::ok, "/demo/model.json"},
        {"/demo/group1-shard1of2.bin?v=3&x=%2e%2e", V::ok, "/demo/group1-shard1of2.bin"},
        {"/demo//model.json", V::ok, "/demo/model.json"},
        {"/a%20b.bin", V::ok, "/a b.bin"},
        {"/%E2%9C%93.json", V::ok, "/\xE2\x9C\x93.json"},
        {"/%F0%9F%98%80", V::ok, "/\xF0\x9F\x98\x80"},
        {"/+/x", V::ok, "/+/x"},
        {"/demo/", V::ok, "/demo/"},
        {"/", V::ok, "/"},
        {"/demo/model.json/", V::ok, "/demo/model.json/"},
        {"/demo/model.json%20", V::ok, "/demo/model.json "},
        {"http://example.com/demo/model.json", V::ok, "/demo/model.json"},
        {"https://example.com:8443/demo/model.json?q", V::ok, "/demo/model.json"},
        {"http://example.com", V::ok, "/"},
        // Double encoding decodes exactly once: the result is a literal name, never a traversal.
        {"/%252e%252e/etc/passwd", V::ok, "/%2e%2e/etc/passwd"},
        {"/%25252e", V::ok, "/%252e"},
        {"/..%252f..%252fetc", V::not_found, ""},
        {"*", V::asterisk, ""},
    };
    for (const auto& row : rows) {
        INFO("target: " << row.target);
        Target t = parse_target(row.target);
        CHECK(name(t.verdict) == name(row.verdict));
        if (row.verdict == V::ok) CHECK(t.path == row.path);
    }
}

TEST_CASE("hostile targets are refused before any file is looked up", "[target]") {
    const std::vector<Row> rows{
        // dot segments, raw and encoded
        {"/../etc/passwd", V::bad_request, ""},
        {"/demo/../../etc/passwd", V::bad_request, ""},
        {"/a/b/../../../../etc/passwd", V::bad_request, ""},
        {"/./model.json", V::bad_request, ""},
        {"//../x", V::bad_request, ""},
        {"/%2e%2e/etc/passwd", V::bad_request, ""},
        {"/%2E%2E/etc/passwd", V::bad_request, ""},
        {"/.%2e/x", V::bad_request, ""},
        {"/%2e./x", V::bad_request, ""},
        {"/%2e/x", V::bad_request, ""},
        {"/demo/%2e%2e", V::bad_request, ""},
        {"http://user:pass@host/../x", V::bad_request, ""},
        // encoded separators
        {"/..%2fetc%2fpasswd", V::bad_request, ""},
        {"/..%2Fetc", V::bad_request, ""},
        {"/%2e%2e%2f", V::bad_request, ""},
        {"/%2f", V::bad_request, ""},
        {"/demo%2fmodel.json", V::bad_request, ""},
        {"/%2F%2Fetc%2Fpasswd", V::bad_request, ""},
        {"/demo%5cmodel.json", V::bad_request, ""},
        {"/..%5c..%5cwindows", V::bad_request, ""},
        {"/%5c", V::bad_request, ""},
        {"/demo/%2e%2e%5c%2e%2e%5cetc", V::bad_request, ""},
        {"/a\\b", V::bad_request, ""},
        {"\\..\\x", V::bad_request, ""},
        // NUL and control characters
        {"/demo/model.json%00.png", V::bad_request, ""},
        {"/%00", V::bad_request, ""},
        {"/a%0d%0aSet-Cookie:x", V::bad_request, ""},
        {"/a%09b", V::bad_request, ""},
        {"/a%7f", V::bad_request, ""},
        {"/a%1b", V::bad_request, ""},
        // overlong and invalid UTF-8
        {"/%c0%ae%c0%ae/etc/passwd", V::bad_request, ""},
        {"/%c0%af", V::bad_request, ""},
        {"/%C0%80", V::bad_request, ""},
        {"/%e0%80%ae", V::bad_request, ""},
        {"/%f0%80%80%ae", V::bad_request, ""},
        {"/%ed%a0%80", V::bad_request, ""},
        {"/%f8%80%80%80%80", V::bad_request, ""},
        {"/%ff", V::bad_request, ""},
        {"/%c3", V::bad_request, ""},
        {"/%f4%90%80%80", V::bad_request, ""},
        // malformed percent-encoding and targets
        {"/%", V::bad_request, ""},
        {"/%2", V::bad_request, ""},
        {"/%zz", V::bad_request, ""},
        {"/%%32%65", V::bad_request, ""},
        {"/%u002e%u002e", V::bad_request, ""},
        {"", V::bad_request, ""},
        {"demo/model.json", V::bad_request, ""},
        {"/demo/model.json#frag", V::bad_request, ""},
        {"ftp://host/x", V::bad_request, ""},
        {"file:///etc/passwd", V::bad_request, ""},
        {"example.com:443", V::bad_request, ""},
        {"/a b", V::bad_request, ""},
        // hidden files and folders
        {"/.git/config", V::not_found, ""},
        {"/.env", V::not_found, ""},
        {"/demo/.hidden", V::not_found, ""},
        {"/%2egit/config", V::not_found, ""},
        {"/%2Eenv", V::not_found, ""},
        {"/demo/.DS_Store", V::not_found, ""},
        {"/...", V::not_found, ""},
        {"/..;/x", V::not_found, ""},
        {"/..%20", V::not_found, ""},
    };
    for (const auto& row : rows) {
        INFO("target: " << row.target);
        Target t = parse_target(row.target);
        CHECK(name(t.verdict) == name(row.verdict));
        CHECK(t.segments().empty());
    }
    CHECK(rows.size() >= 50);
}

TEST_CASE("a target longer than the limit is refused with 414, a long but legal one is parsed", "[target]") {
    CHECK(parse_target("/" + std::string(9000, 'a')).verdict == V::too_long);
    std::string deep;
    for (int i = 0; i < 500; ++i) deep += "/abcdefghijklm";
    CHECK(parse_target(deep).verdict == V::ok);
    CHECK(parse_target(deep).segments().size() == 500);
}

TEST_CASE("accepted segments never contain separators, dots-only names or control bytes", "[target]") {
    for (const char* raw : {"/a/b/c.bin", "/x%20y/z", "/%E2%9C%93/%2Bq"}) {
        Target t = parse_target(raw);
        REQUIRE(t.verdict == V::ok);
        for (const auto& s : t.segments()) {
            CHECK(!s.empty());
            CHECK(s != "..");
            CHECK(s.find('/') == std::string::npos);
            CHECK(s.find('\\') == std::string::npos);
            CHECK(s.find('\0') == std::string::npos);
        }
    }
}
