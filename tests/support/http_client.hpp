// Test-side HTTP: a raw TCP client that reads Beast-parsed responses, and an in-process server on port 0.
#pragma once

#include "temp_dir.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace modelhost::net {
class Server;
}

namespace modelhost::test {

using Response = boost::beast::http::response<boost::beast::http::string_body>;

// One client connection with a receive timeout, so a broken server fails a test instead of hanging it.
class Client {
public:
    explicit Client(std::uint16_t port, double timeout_seconds = 10);
    void send(const std::string& raw);
    // Reads one response; `head` for responses to HEAD (no body follows). Throws on error or timeout.
    Response read(bool head = false);
    int native_handle() { return socket_.native_handle(); }
    // True when the server closed the connection (EOF or reset) within the timeout.
    bool closed_by_peer();
    // Bytes received until EOF, discarding them; returns the count.
    std::uint64_t drain_to_eof();
    // Hands every received chunk (buffered bytes first) to `sink` until EOF.
    void stream_to_eof(const std::function<void(const char*, std::size_t)>& sink);

private:
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
};

// Sends one request on a fresh connection and reads its response.
Response request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& extra_headers = "");

// A loopback port nothing listens on at the moment of asking, for peers (Prometheus, Varnish) that need one named.
std::uint16_t unused_port();

// A modelhost server running in this process on 127.0.0.1 and an ephemeral port, configured by inline JSON.
class TestServer {
public:
    // `config_json` is a config file's text; server.root, host and port are filled in unless present.
    TestServer(const std::filesystem::path& root, const std::string& config_json = "{}");
    ~TestServer();
    std::uint16_t port() const { return port_; }
    // Starts the graceful shutdown (as SIGTERM would); the destructor waits for it to finish.
    void begin_shutdown();

private:
    TempDir config_dir_;
    std::unique_ptr<net::Server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

}  // namespace modelhost::test
