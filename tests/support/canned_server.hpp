// Test peers that misbehave on purpose: canned raw HTTP responses by path, over plain TCP or TLS,
// and a throwaway PKI (CA + 127.0.0.1 certificate) made with the openssl tool at test time.
#pragma once

#include "temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <vector>
#include <string>
#include <thread>

namespace modelhost::test {

// One response per connection: routes[path] (query ignored), else `fallback`; or whatever a responder makes of the
// request's head (request line and header lines).
class CannedServer {
public:
    using Responder = std::function<std::string(const std::string& head)>;
    CannedServer(std::map<std::string, std::string> routes, std::string fallback, boost::asio::ssl::context* tls = nullptr);
    explicit CannedServer(Responder responder);
    ~CannedServer();
    std::string base() const;  // "http://127.0.0.1:PORT" or "https://..."
    // Every request-target received so far (query included), in order.
    std::vector<std::string> targets();
    // Every request head received so far, in order.
    std::vector<std::string> heads();

private:
    template <class Stream>
    void serve(Stream& s);

    void accept_loop();

    std::map<std::string, std::string> routes_;
    Responder responder_;
    std::string fallback_;
    boost::asio::ssl::context* tls_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> targets_, heads_;
};

// A response that never ends: `head` (status line and headers, ending in a blank line), then `piece` over and over
// (every `pause_ms` milliseconds) until the client goes away.
std::string canned_endless(const std::string& head, const std::string& piece, int pause_ms = 0);

// A response sent slowly: `head`, then `body` in `pieces` parts with `pause_ms` milliseconds before each; then the
// connection closes.
std::string canned_slow(const std::string& head, const std::string& body, int pieces, int pause_ms);

// "HTTP/1.1 200 OK" with the body and a Content-Length; `extra` header lines end in \r\n.
std::string canned_ok(const std::string& body, const std::string& extra = "");

// A CA (ca.pem), a second unrelated CA (other.pem) and a server certificate for IP 127.0.0.1 (server.pem/key).
struct TestPki {
    TempDir dir;
    TestPki();
    std::string path(const char* name) const { return (dir.path() / name).string(); }
    // A TLS server context using server.pem/server.key.
    boost::asio::ssl::context server_context() const;
};

}  // namespace modelhost::test
