// One HTTP/1.1 connection: reads requests, queues their responses in order, writes, times out, closes.
#pragma once

#include "http/handler.hpp"
#include "net/outgoing.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/circular_buffer.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace modelhost::config {
struct LimitsConfig;
}

namespace modelhost::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

class Tracker;

// What the tracker and the acceptor need of a connection, whatever its transport.
class SessionBase {
public:
    virtual ~SessionBase() = default;
    // Starts the connection; `refuse` answers 503 and closes instead (connection limit reached).
    virtual void run(bool refuse) = 0;
    // Graceful shutdown: finish what was received, then close. Safe from any thread.
    virtual void drain() = 0;
};

// One connection over `Stream`: a plain tcp::socket, or ssl::stream<tcp::socket> (handshake first, no sendfile).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
public:
    static constexpr bool tls = !std::is_same_v<Stream, tcp::socket>;

    // File spans of at least `sendfile_min_bytes` go out with sendfile(2) (plain TCP only).
    Session(Stream stream, const http::Handler& handler, const config::LimitsConfig& limits,
            std::uint64_t sendfile_min_bytes, Tracker& tracker);
    ~Session() override;

    void run(bool refuse) override;
    void drain() override;

private:
    using std::enable_shared_from_this<Session<Stream>>::shared_from_this;
    tcp::socket& socket() { return boost::beast::get_lowest_layer(stream_); }
    void on_handshake(beast::error_code ec);
    void do_wait();
    void on_wait(beast::error_code ec);
    void do_read();
    void parse_buffered();
    void on_read_some(beast::error_code ec);
    void on_read(beast::error_code ec);
    void start_ticking();
    void on_tick(beast::error_code ec);
    void enqueue(http::Exchange ex);
    void do_write();
    void write_some();
    void wait_writable();
    void do_sendfile();
    void on_write(beast::error_code ec);
    void do_close();
    void start_linger();
    void on_linger(beast::error_code ec);
    void finish();

    enum class Phase { idle, reading, closing, closed };

    Stream stream_;
    const http::Handler& handler_;
    const config::LimitsConfig& limits_;
    Tracker& tracker_;
    std::string remote_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    asio::steady_timer tick_;
    const std::chrono::steady_clock::duration tick_period_;
    bool ticking_ = false;
    std::chrono::steady_clock::time_point read_deadline_{}, write_deadline_{}, linger_deadline_{};
    struct Pending {
        http::Exchange ex;
        std::chrono::steady_clock::time_point start;
    };
    // Fixed capacity (elements never move while written): reading pauses at max_pipelined, one rejection may follow.
    boost::circular_buffer<Pending> queue_;

    Outgoing out_;  // the response being written
    const std::uint64_t sendfile_min_;
    std::chrono::steady_clock::time_point read_start_;
    Phase phase_ = Phase::idle;
    std::size_t served_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool read_timed_out_ = false;
    bool stop_reading_ = false;  // a response closes the connection, or the client has gone
    bool draining_ = false;
    bool refuse_ = false;
    bool lingering_ = false;
    std::array<char, 4096> linger_buf_{};
};

}  // namespace modelhost::net
