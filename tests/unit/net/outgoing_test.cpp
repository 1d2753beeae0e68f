// The account of a response being sent: head first, then content from memory, file chunks or a sendfile span.
#include "catch.hpp"

#include "fs/file_store.hpp"
#include "http/message.hpp"
#include "net/outgoing.hpp"
#include "temp_dir.hpp"

using namespace modelhost;
using modelhost::test::TempDir;

namespace {

// Drains `out` as a socket taking at most `step` bytes per write would; returns what was "sent".
std::string drain(net::Outgoing& out, std::size_t step) {
    std::string sent;
    for (int guard = 0; guard < 100000; ++guard) {
        std::array<boost::asio::const_buffer, 2> bufs;
        boost::system::error_code ec;
        REQUIRE(out.next(bufs, ec));
        std::size_t total = bufs[0].size() + bufs[1].size();
        if (total == 0) break;
        std::size_t n = std::min(step, total);
        std::size_t first = std::min(n, bufs[0].size());
        sent.append(static_cast<const char*>(bufs[0].data()), first);
        sent.append(static_cast<const char*>(bufs[1].data()), n - first);
        out.advance(n);
    }
    return sent;
}

}  // namespace

TEST_CASE("a small in-memory body goes out after the head, whatever the write sizes", "[outgoing]") {
    http::Reply res = http::error_reply(http::bhttp::status::not_found, 11);
    res.content_length_header = res.body().declared_size();
    for (std::size_t step : {1u, 7u, 4096u}) {
        net::Outgoing out;
        out.start(res, true, 16 * 1024);
        std::string sent = drain(out, step);
        CHECK(sent.ends_with("\r\n\r\n404 Not Found\n"));
        CHECK(sent.starts_with("HTTP/1.1 404 Not Found\r\n"));
        CHECK(out.content_sent() == 14);
    }
}

TEST_CASE("a file span is read in chunks without sendfile, or left to sendfile above the threshold", "[outgoing]") {
    TempDir root;
    std::string data;
    for (int i = 0; i < 200000; ++i) data += static_cast<char>('a' + i % 26);
    root.write("f.bin", data);
    fs::FileStore store(root.path().string(), 0);
    auto file = store.open("f.bin");
    http::Reply res{http::bhttp::status::partial_content, 11};
    res.body().file = file.file;
    res.body().offset = 1000;
    res.body().length = 150000;
    res.content_length_header = 150000;

    net::Outgoing chunks;
    chunks.start(res, false, 16 * 1024);
    std::string sent = drain(chunks, 10000);
    CHECK(sent.substr(sent.find("\r\n\r\n") + 4) == data.substr(1000, 150000));

    net::Outgoing zero_copy;
    zero_copy.start(res, true, 16 * 1024);
    CHECK(zero_copy.by_sendfile());
    drain(zero_copy, 10000);  // the head only
    CHECK(zero_copy.head_done());
    CHECK(zero_copy.file_offset() == 1000);
    CHECK(zero_copy.file_left() == 150000);
    zero_copy.sent(150000);
    CHECK(zero_copy.file_left() == 0);
}
