// One HTTP/2 stream without I/O: the request the pipeline gets from its fields, the response fields it sends, and
// its content frame by frame.
#include "catch.hpp"

#include "http/message.hpp"
#include "net/http2_stream.hpp"

#include <algorithm>
#include <map>

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
    std::string head;
    std::array<char, 4> status{};
    std::vector<nghttp2_nv> nv;
    net::response_fields(res, head, status, nv);
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

TEST_CASE("content in memory goes out in frames of at most 16 KiB, the last one marked", "[http2]") {
    net::Http2Stream s(5);
    http::Exchange ex;
    ex.reply.body().text = std::string(40000, 'x');
    REQUIRE(s.answer(std::move(ex)));
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
