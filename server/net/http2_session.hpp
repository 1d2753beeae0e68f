// One HTTP/2 connection (RFC 9113). nghttp2 owns the protocol — frames, HPACK, flow control, stream states and
// its flood limits; this class does the I/O and deadlines, and gives each complete request stream to the same
// http::Handler as HTTP/1.1. Reached by ALPN "h2" after a TLS handshake, or by the client preface on the plain
// listener (h2c with prior knowledge), both handed over by the HTTP/1.1 session (net/session.hpp).
#pragma once

#include "net/connection.hpp"
#include "net/http2_stream.hpp"
#include "net/session.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct nghttp2_session;

namespace modelhost::config {
struct Http2Config;
}

namespace modelhost::net {

template <class Stream>
struct Http2Glue;  // nghttp2's callbacks, net/http2_glue.hpp

template <class Stream>
class Http2Session : public SessionBase, public std::enable_shared_from_this<Http2Session<Stream>> {
public:
    // `received`: bytes already read from the connection (the start of the client preface, for h2c).
    Http2Session(Stream stream, const http::Handler& handler, const config::LimitsConfig& limits,
                 const config::Http2Config& http2, Tracker& tracker, std::string remote, std::string received);
    ~Http2Session() override;

    // Sends the server's SETTINGS and serves; `refuse` (the connection limit) sends only GOAWAY REFUSED_STREAM.
    void run(bool refuse) override;
    // GOAWAY naming the last stream accepted: the streams already open finish, then the connection closes.
    void drain() override;

    // What the connection holds now, for the fuzz target (tests/fuzz/http2_fuzz.cpp); the server never asks.
    struct StreamView {
        std::int32_t id;
        bool answered;        // an answer is made (or the stream abandoned, or waiting on a mirror)
        bool request_done;    // the client has ended its side (END_STREAM received)
        bool response_done;   // ours has ended (the whole answer is out)
        std::int32_t window;  // what the client lets us send on it now, the connection's window included
    };
    struct View {
        std::vector<StreamView> streams;
        bool serving;       // open or going away (not lingering, not closed)
        bool writing;       // a write is in flight
        bool wants_write;   // nghttp2 has a frame it could send now
        std::size_t batch_capacity;
    };
    View view() const;

private:
    friend struct Http2Glue<Stream>;
    using std::enable_shared_from_this<Http2Session<Stream>>::shared_from_this;
    tcp::socket& socket() { return boost::beast::get_lowest_layer(stream_); }

    void start(bool refuse);
    void do_read();
    void on_read(beast::error_code ec, std::size_t n);
    void feed(const char* data, std::size_t n);
    void flush();
    void write_from(std::size_t offset);
    void on_written(beast::error_code ec);
    void start_ticking();
    void on_tick(beast::error_code ec);
    void check_deadlines(Clock::time_point now);
    void go_away(std::uint32_t error_code, std::string_view why);
    void close_gracefully();
    void finish();

    // Stream events (called from nghttp2's callbacks).
    Http2Stream* begin_stream(std::int32_t id);
    Http2Stream* find(std::int32_t id);
    void answer(Http2Stream& s);
    void respond(Http2Stream& s, std::optional<http::Exchange> ex);
    void respond(Http2Stream& s);
    void wait_for_upstream(Http2Stream& s);
    void on_upstream(std::int32_t id, bool draining);
    void wait_for_content(Http2Stream& s);
    void end_stream(std::int32_t id, std::uint32_t error_code);
    void end_all_streams();

    Stream stream_;
    const http::Handler& handler_;
    const config::LimitsConfig& limits_;
    const config::Http2Config& http2_;
    Tracker& tracker_;
    const std::string remote_;
    std::string received_;
    nghttp2_session* ng_ = nullptr;
    std::unordered_map<std::int32_t, std::unique_ptr<Http2Stream>> streams_;
    Http2Stream* last_found_ = nullptr;  // the stream find() gave last (a request's fields come one callback each)
    std::unique_ptr<char[]> read_buf_;
    WriteBatch out_;
    Ticker tick_;
    Clock::time_point idle_since_, write_deadline_{}, linger_deadline_{};
    Clock::time_point progress_{};  // the last answer made or write completed (a shut window stalls answers)
    std::size_t served_ = 0;
    // The connection, one phase at a time; each names its bound:
    //   open       -> going_away (SIGTERM, or no stream for keepalive_timeout: GOAWAY sent)
    //              | lingering (a protocol error or a flood: GOAWAY with its code is out) | closed
    //   going_away -> lingering (the open streams finished and GOAWAY is out; send_timeout bounds each write)
    //   lingering  -> closed (half-closed; late input discarded for at most linger_time)
    //   closed     (the socket is closed: the peer left, a read or write failed or stalled past send_timeout, or a
    //              header block stayed open past header_timeout; from any phase)
    enum class Phase { open, going_away, lingering, closed };
    Phase phase_ = Phase::open;
    bool reading_ = false, writing_ = false;  // an operation of that kind is pending
};

}  // namespace modelhost::net
