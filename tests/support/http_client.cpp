// The blocking test client (Boost only: the API tests use it beside the library, without the server's internals).
#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <sys/socket.h>
#include <sys/time.h>

namespace modelhost::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Client::Client(std::uint16_t port, double timeout_seconds) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_seconds);
    tv.tv_usec = static_cast<suseconds_t>((timeout_seconds - static_cast<double>(tv.tv_sec)) * 1e6);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void Client::send(const std::string& raw) { asio::write(socket_, asio::buffer(raw)); }

Response Client::read(bool head) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    parser.skip(head);
    bhttp::read(socket_, buffer_, parser);
    return parser.release();
}

bool Client::closed_by_peer() {
    char byte;
    boost::system::error_code ec;
    if (buffer_.size() > 0) return false;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
}

std::uint64_t Client::drain_to_eof() {
    std::uint64_t total = 0;
    stream_to_eof([&total](const char*, std::size_t n) { total += n; });
    return total;
}

void Client::stream_to_eof(const std::function<void(const char*, std::size_t)>& sink) {
    auto buffered = buffer_.data();
    sink(static_cast<const char*>(buffered.data()), buffered.size());
    buffer_.consume(buffer_.size());
    std::vector<char> chunk(1 << 16);
    boost::system::error_code ec;
    for (;;) {
        std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
        sink(chunk.data(), n);
        if (ec) break;
    }
}

std::uint16_t unused_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

Response request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& extra_headers) {
    Client c(port);
    c.send(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers + "\r\n");
    return c.read(method == "HEAD");
}

}  // namespace modelhost::test
