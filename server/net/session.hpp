// One HTTP/1.1 connection: reads requests, queues their responses in order, writes, times out, closes.
#pragma once

#include "http/handler.hpp"
#include "net/connection.hpp"
#include "net/outgoing.hpp"
#include "net/request_reader.hpp"
#include "net/tls_socket.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <array>
#include <cassert>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace modelhost::config {
struct LimitsConfig;
struct Http2Config;
}

namespace modelhost::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using TlsStream = TlsSocket;

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

// One connection over `Stream`: a plain tcp::socket, or a TlsSocket (handshake first, no sendfile).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
public:
    static constexpr bool tls = !std::is_same_v<Stream, tcp::socket>;
    static constexpr std::size_t max_pipelined = 8;  // responses queued before reading pauses

    // File spans of at least `sendfile_min_bytes` go out with sendfile(2) (plain TCP only).
    // `http2` says whether an h2c preface on a plain connection (cleartext) hands it over to HTTP/2; over TLS,
    // ALPN "h2" does (the context offers it only when http2.enabled).
    Session(Stream stream, const http::Handler& handler, const config::LimitsConfig& limits,
            const config::Http2Config& http2, std::uint64_t sendfile_min_bytes, Tracker& tracker);
    ~Session() override;

    void run(bool refuse) override;
    void drain() override;

private:
    using std::enable_shared_from_this<Session<Stream>>::shared_from_this;
    using clock = std::chrono::steady_clock;
    tcp::socket& socket() { return boost::beast::get_lowest_layer(stream_); }

    // The read side, one state at a time; each names the bound it enforces.
    //   handshake -> idle (TLS done) | stopped (failed, refused)
    //   idle      -> head (a byte arrived, or one was already buffered) | paused (queue full) | stopped
    //   head      -> body (header screened, a body follows) | idle or paused (request complete) | stopped
    //   body      -> idle or paused (request complete) | stopped
    //   paused    -> idle (a response went out)
    //   upstream  -> idle or stopped (the mirror's transfer ended and the request was answered)
    //   stopped   -> (final: the queued responses are written, then the connection closes)
    enum class Read {
        handshake,  // TLS handshake: limits.header_timeout
        idle,       // between requests: keepalive_timeout (header_timeout before the first), never while writing
        head,       // request line + fields: max_header_bytes (Beast's limit) and header_timeout from the first byte
        body,       // content: max_body_bytes; chunk lines + trailers: max_header_bytes; the same deadline as head
        paused,     // max_pipelined responses queued: no reads (the client's bytes wait in the kernel)
        upstream,   // the answer waits for a mirror's upstream transfer (bounded by the mirror's timeout): no reads
        stopped,    // no further request is read
    };
    // The connection as a whole: open, then a half-close that discards late input (bounded by linger_time).
    enum class Link { open, closing, lingering, closed };

    void on_handshake(beast::error_code ec, bool refuse);
    void do_wait();
    void do_read(std::size_t size);
    void on_read(beast::error_code ec);
    void hand_over_to_http2(bool refuse);
    void start_request();
    void parse();
    void on_request();
    void answer(const http::Request& req, http::ConnectionFacts facts, bool may_wait);
    void wait_for_upstream(const http::Request& req, std::function<void(std::function<void()>)> wait,
                           http::ConnectionFacts facts);
    void on_upstream(http::ConnectionFacts facts);
    void fail(http::ReadFailure why, const std::string& detail);
    void start_ticking();
    void on_tick(beast::error_code ec);
    void on_deadline();
    void enqueue(http::Exchange&& ex);
    void do_write();
    void write_some();
    void wait_writable();
    void wait_for_content();
    void do_sendfile();
    void on_write(beast::error_code ec);
    void do_close();
    void start_linger();
    void on_linger(beast::error_code ec);
    void finish();

    Stream stream_;
    const http::Handler& handler_;
    const config::LimitsConfig& limits_;
    const config::Http2Config& http2_;
    Tracker& tracker_;
    std::string remote_;
    // Bytes read but not yet parsed: at most limits.max_header_bytes waiting for a line end, plus one read.
    beast::flat_buffer buffer_;
    RequestReader reader_;  // the request being read: parser, limits, framing screen
    std::optional<http::Request> upstream_request_;  // the request waiting for a mirror's transfer (Read::upstream)
    Ticker tick_;
    clock::time_point read_deadline_{}, write_deadline_{}, linger_deadline_{};
    struct Pending {
        http::Exchange ex;
        clock::time_point start;
    };
    // Responses in request order, each made where it waits (the handler fills a fresh element: nothing is moved).
    // Fixed capacity, so elements never move while written: reading pauses at max_pipelined, one rejection may follow.
    // A slot's storage is allocated the first time it is used and kept: a connection that never pipelines holds one
    // (about 500 bytes) instead of all nine inline (about 4.4 KB each connection), and no request allocates one.
    class Queue {
    public:
        bool empty() const { return size_ == 0; }
        std::size_t size() const { return size_; }
        Pending& front() { return **slots_[first_]; }
        Pending& emplace_back() {
            assert(size_ < slots_.size());
            auto& slot = slots_[(first_ + size_++) % slots_.size()];
            if (!slot) slot = std::make_unique<std::optional<Pending>>();
            return slot->emplace();
        }
        void pop_front() {
            slots_[first_]->reset();
            first_ = --size_ == 0 ? 0 : (first_ + 1) % slots_.size();  // the first slot again: it is in the cache
        }
        void pop_back() { slots_[(first_ + --size_) % slots_.size()]->reset(); }

    private:
        std::array<std::unique_ptr<std::optional<Pending>>, max_pipelined + 1> slots_;
        std::size_t first_ = 0, size_ = 0;
    };
    Queue queue_;

    Outgoing out_;  // the response being written
    const std::uint64_t sendfile_min_;
    clock::time_point read_start_;
    std::size_t served_ = 0;
    Read read_ = Read::handshake;
    Link link_ = Link::open;
    bool read_pending_ = false;  // an async read (or handshake, or a posted parse) has not completed yet
    bool writing_ = false;       // a response is being written
    bool draining_ = false;      // the server is shutting down: finish what was received, then close
    std::unique_ptr<char[]> linger_buf_;  // what a lingering connection discards into; made when it starts lingering
};

}  // namespace modelhost::net
