// Request framing and Host: every request is framed exactly one way or refused (RFC 9112 §3.2, §6.1, §6.3).
#include "catch.hpp"

#include "http/framing.hpp"

#include <string>
#include <utility>
#include <vector>

using namespace modelhost::http;
namespace bhttp = boost::beast::http;

namespace {

bhttp::fields header(const std::vector<std::pair<std::string, std::string>>& lines) {
    bhttp::fields f;
    for (const auto& [name, value] : lines) f.insert(name, value);
    return f;
}

unsigned verdict(const std::vector<std::pair<std::string, std::string>>& lines, unsigned version = 11) {
    return static_cast<unsigned>(check_framing(header(lines), version).status);
}

}  // namespace

TEST_CASE("a request with one Host and no body framing is accepted", "[framing]") {
    CHECK(verdict({{"Host", "models.example.com"}}) == 200);
    CHECK(verdict({{"Host", "127.0.0.1:8080"}}) == 200);
    CHECK(verdict({{"Host", "[::1]:8080"}}) == 200);
    CHECK(verdict({{"Host", ""}}) == 200);  // allowed for a target without authority
    CHECK(verdict({{"Host", "a"}, {"Content-Length", "3"}}) == 200);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "chunked"}}) == 200);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "Chunked"}}) == 200);
}

TEST_CASE("HTTP/1.1 without Host, or with two, is refused with 400", "[framing]") {
    CHECK(verdict({}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Host", "b"}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Host", "b"}}, 10) == 400);
    CHECK(verdict({}, 10) == 200);  // HTTP/1.0 had no Host
}

TEST_CASE("a Host value with userinfo, a path, spaces or a bad port is refused", "[framing]") {
    for (const char* bad : {"user@host", "host/path", "a b", "host:99999", "host:8x", "[::1", "ho?st", "h\\x"}) {
        INFO(bad);
        CHECK_FALSE(valid_host(bad));
        CHECK(verdict({{"Host", bad}}) == 400);
    }
}

TEST_CASE("a transfer coding other than a final chunked cannot be framed and is refused", "[framing]") {
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "gzip"}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "chunked, identity"}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "gzip"}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "chunked, chunked"}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", ""}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", " , "}}) == 400);
}

TEST_CASE("a coding before the final chunked is not implemented: 501", "[framing]") {
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "gzip, chunked"}}) == 501);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}) == 501);
    CHECK(check_framing(header({{"Host", "a"}, {"Transfer-Encoding", "x-custom, chunked"}}), 11).reason.find("x-custom") != std::string::npos);
}

TEST_CASE("Transfer-Encoding with Content-Length, or in HTTP/1.0, is refused with 400", "[framing]") {
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}) == 400);
    CHECK(verdict({{"Host", "a"}, {"Transfer-Encoding", "chunked, identity"}, {"Content-Length", "5"}}) == 400);
    CHECK(verdict({{"Transfer-Encoding", "chunked"}}, 10) == 400);
}

TEST_CASE("a line starting with a space or tab is an obs-fold", "[framing]") {
    CHECK(has_obs_fold("GET / HTTP/1.1\r\nX-A: 1\r\n b\r\n\r\n"));
    CHECK(has_obs_fold("GET / HTTP/1.1\r\nX-A: 1\r\n\tb\r\n\r\n"));
    CHECK_FALSE(has_obs_fold("GET / HTTP/1.1\r\nX-A: 1 b\r\n\r\n"));
    CHECK_FALSE(has_obs_fold("GET / HTTP/1.1\r\nX-A: 1\r\n"));
}
