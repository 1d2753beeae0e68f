// One HTTP/2 stream without I/O: the request the pipeline gets from its fields, the response fields it sends, and
// its content frame by frame.
#include "catch.hpp"

#include "http/message.hpp"
#include "http/reply.hpp"
#include "net/http2_stream.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <unistd.h>

using namespace modelhost;

namespace {

std::vector<std::pair<std::string, std::string>> as_pairs(const std::vector<nghttp2_nv>& nv) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : nv)
        out.emplace_back(std::string(reinterpret_cast<const char*>(f.name), f.namelen),
                         std::string(reinterpret_cast<const char*>(f.value), f.valuelen));
    return out;
}

}  // namespace

TEST_CASE("a stream's pseudo-header fields become the method, target and Host of an HTTP/1.1-shaped request", "[http2]") {
    net::Http2Stream s(1);
    s.add_field(":method", "GET", 16384);
    s.add_field(":scheme", "https", 16384);
    s.add_field(":authority", "models.example:8443", 16384);
    s.add_field(":path", "/face/model.json?v=2", 16384);
    s.add_field("origin", "https://app.example", 16384);
    s.begin_trailers();
    s.add_field("x-trailer", "dropped", 16384);
    const auto& req = s.request();
    CHECK(req.method() == boost::beast::http::verb::get);
    CHECK(req.target() == "/face/model.json?v=2");
    CHECK(req.version() == 11);
    CHECK(req[boost::beast::http::field::host] == "models.example:8443");
    CHECK(req["origin"] == "https://app.example");
    CHECK(req.find("x-trailer") == req.end());
    CHECK_FALSE(s.header_overflow());
}

TEST_CASE("a header list over max_header_bytes, counted with RFC 7541 sizes, marks the stream for 431", "[http2]") {
    net::Http2Stream s(3);
    s.add_field(":method", "GET", 100);            // 7 + 3 + 32 = 42
    s.add_field(":path", "/", 100);                // 5 + 1 + 32 = 38: 80 in all
    CHECK_FALSE(s.header_overflow());
    s.add_field("x-a", std::string(20, 'a'), 100);  // 3 + 20 + 32 = 55: 135
    CHECK(s.header_overflow());
}

TEST_CASE("response fields: :status first, names lower-cased, connection-specific fields left out", "[http2]") {
    http::Reply res{boost::beast::http::status::not_found, 11};
    res.set(boost::beast::http::field::content_type, "text/plain");
    res.set(boost::beast::http::field::connection, "close");
    res.set(boost::beast::http::field::keep_alive, "timeout=5");
    res.set(boost::beast::http::field::transfer_encoding, "chunked");
    res.set("Access-Control-Allow-Origin", "*");
    net::FieldText text;
    std::vector<nghttp2_nv> nv;
    net::response_fields(res, text, nv);
    auto fields = as_pairs(nv);
    REQUIRE(!fields.empty());
    CHECK(fields.front() == std::pair<std::string, std::string>{":status", "404"});
    std::map<std::string, std::string> by_name(fields.begin() + 1, fields.end());
    CHECK(by_name["content-type"] == "text/plain");
    CHECK(by_name["access-control-allow-origin"] == "*");
    CHECK(by_name.count("connection") == 0);
    CHECK(by_name.count("keep-alive") == 0);
    CHECK(by_name.count("transfer-encoding") == 0);
    for (const auto& [name, value] : fields) CHECK(std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
}

TEST_CASE("response fields are the HTTP/1.1 head's fields in order, from every part of the reply", "[http2]") {
    // The reply as the pipeline makes it: fields of its own, Content-Length and Date set by finalise, and pre-built
    // blocks of lines (the route's constant headers, the wildcard CORS lines, the representation's lines).
    const std::string route = "Server: modelhost/test\r\nX-Content-Type-Options: nosniff\r\nX-Configured:  two  spaces\r\n";
    const std::string cors = "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: ETag, Content-Length\r\n";
    auto representation = std::make_shared<http::RepresentationHead>();
    representation->lines = "ETag: \"400-1\"\r\nCache-Control: public, max-age=60\r\nContent-Type: application/json\r\n";
    representation->validators_end = representation->lines.find("Content-Type");
    net::FieldText text;  // reused from answer to answer, as a connection does
    for (bool validators_only : {false, true}) {
        http::Reply res{validators_only ? boost::beast::http::status::not_modified : boost::beast::http::status::ok, 11};
        res.set(boost::beast::http::field::vary, "Origin");
        res.set(boost::beast::http::field::connection, "keep-alive");
        res.route_lines = route;
        res.cors_lines = cors;
        res.representation = representation;
        res.validators_only = validators_only;
        if (!validators_only) res.content_length_header = 1024;
        const std::string date = "Thu, 26 Nov 2026 06:00:00 GMT";
        std::copy(date.begin(), date.end(), res.date.begin());

        // Expected: the HTTP/1.1 head's lines after the status line, names lower-cased, Connection left out.
        std::string head;
        http::serialize_head(res, head);
        std::vector<std::pair<std::string, std::string>> expected{{":status", validators_only ? "304" : "200"}};
        for (std::size_t at = head.find("\r\n") + 2, eol; (eol = head.find("\r\n", at)) != at; at = eol + 2) {
            std::string line = head.substr(at, eol - at);
            std::string name = line.substr(0, line.find(':'));
            std::transform(name.begin(), name.end(), name.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
            if (name != "connection") expected.emplace_back(name, line.substr(line.find_first_not_of(' ', name.size() + 1)));
        }
        std::vector<nghttp2_nv> nv;
        net::response_fields(res, text, nv);
        CHECK(as_pairs(nv) == expected);
        CHECK(as_pairs(nv).size() == (validators_only ? 10u : 12u));  // the 304 has no Content-Length nor Content-Type
    }
}

TEST_CASE("content in memory goes out in frames of at most 16 KiB, the last one marked", "[http2]") {
    net::Http2Stream s(5);
    s.exchange().reply.body().text = std::string(40000, 'x');
    REQUIRE(s.answer());
    std::string sent;
    bool last = false;
    for (int frames = 0; !last; ++frames) {
        REQUIRE(frames < 10);
        std::size_t n = s.next_frame(1 << 20, last);
        CHECK(n <= net::max_data_frame);
        std::string buf(n, '\0');
        REQUIRE(s.copy_content(buf.data(), n));
        sent += buf;
    }
    CHECK(sent == std::string(40000, 'x'));
    CHECK(s.sent() == 40000);
}

TEST_CASE("a block's HTTP/2 fields follow its content, even at an address another block had", "[http2]") {
    // Blocks are lowered once and remembered by address and content: after a reload a new block may sit where an old
    // one was, with the same length. Its fields must be its own, and the old answer's fields must stay valid.
    std::string block = "X-One: first\r\nX-Two: second\r\n";
    http::Reply first{boost::beast::http::status::ok, 11};
    first.route_lines = block;
    net::FieldText first_text;
    std::vector<nghttp2_nv> first_nv;
    net::response_fields(first, first_text, first_nv);
    CHECK(as_pairs(first_nv) == std::vector<std::pair<std::string, std::string>>{{":status", "200"}, {"x-one", "first"}, {"x-two", "second"}});
    const auto kept = as_pairs(first_nv);

    const char* at = block.data();
    block = "X-Un:  un_a\r\nX-Deux: second\r\n";  // same size: the string keeps its buffer
    REQUIRE(block.data() == at);
    http::Reply second{boost::beast::http::status::ok, 11};
    second.route_lines = block;
    net::FieldText second_text;
    std::vector<nghttp2_nv> second_nv;
    net::response_fields(second, second_text, second_nv);
    CHECK(as_pairs(second_nv) == std::vector<std::pair<std::string, std::string>>{{":status", "200"}, {"x-un", "un_a"}, {"x-deux", "second"}});
    // The first answer's names are still there (its text holds its lowered block); its values were the old block's.
    CHECK(std::string(reinterpret_cast<const char*>(first_nv[1].name), first_nv[1].namelen) == kept[1].first);
}

TEST_CASE("a file that ends before the answer's length stops its stream, and the access line says where", "[http2]") {
    char name[] = "/tmp/modelhost-h2-short-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::unlink(name);
    REQUIRE(::write(fd, "0123456789", 10) == 10);
    net::Http2Stream s(7);
    auto& body = s.exchange().reply.body();
    body.file = std::make_shared<const fs::OpenFile>(fd);
    body.offset = 4;
    body.length = 20;  // promised more than the file holds
    s.exchange().log.note = "mirror: streamed while fetched from upstream";
    REQUIRE(s.answer());
    std::array<char, 20> buf{};
    CHECK_FALSE(s.copy_content(buf.data(), 20));
    CHECK(s.exchange().log.note == "mirror: streamed while fetched from upstream; the file ends at byte 10, before its promised length");
}
