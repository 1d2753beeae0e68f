// Connection I/O only: every status and header comes from http::Handler. This file reads requests (and hands an h2c
// preface over to HTTP/2), queues their answers, keeps the deadlines and closes; session_write.cpp sends the answers.
#include "net/session.hpp"

#include "config/config.hpp"
#include "net/http2_session.hpp"
#include "net/tls.hpp"
#include "net/tracker.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <type_traits>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>

namespace modelhost::net {

namespace {

constexpr std::size_t read_size = 16 * 1024;  // bytes asked of the socket per read
// The first read of a request, when nothing of it is buffered: a request's head usually fits (nginx's
// client_header_buffer_size is 1 KiB), and an idle connection holds no more; a longer one reads on in read_size.
constexpr std::size_t first_read_size = 2048;
constexpr std::size_t linger_size = 4096;     // bytes a lingering connection discards per read

// The client connection preface of HTTP/2 (RFC 9113 §3.4): what an h2c client with prior knowledge sends first.
constexpr std::string_view h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class Preface { no, partial, whole };
Preface match_preface(const beast::flat_buffer& buffer) {
    std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
    std::size_t n = std::min(got.size(), h2_preface.size());
    if (got.substr(0, n) != h2_preface.substr(0, n)) return Preface::no;
    return n == h2_preface.size() ? Preface::whole : Preface::partial;
}

}  // namespace

template <class Stream>
Session<Stream>::Session(Stream stream, const http::Handler& handler, const config::LimitsConfig& limits,
                         const config::Http2Config& http2, std::uint64_t sendfile_min_bytes, Tracker& tracker)
    : stream_(std::move(stream)),
      handler_(handler),
      limits_(limits),
      http2_(http2),
      tracker_(tracker),
      reader_(limits),
      tick_(socket().get_executor(), limits),
      sendfile_min_(sendfile_min_bytes),
      read_start_(clock::now()) {
    remote_ = prepare_socket(socket(), tls);
    // Plain sockets are written directly (a response usually leaves in one call); TLS goes through the stream.
    beast::error_code ec;
    if constexpr (!tls) socket().non_blocking(true, ec);
}

template <class Stream>
Session<Stream>::~Session() { tracker_.remove(this); }

template <class Stream>
void Session<Stream>::run(bool refuse) {
    asio::dispatch(socket().get_executor(), [self = shared_from_this(), refuse] {
        if constexpr (tls) {
            // The handshake counts as the wait for the first request: the same deadline bounds it.
            self->read_pending_ = true;
            self->read_deadline_ = coarse_now() + seconds(self->limits_.header_timeout);
            self->start_ticking();
            self->stream_.async_handshake(asio::ssl::stream_base::server,
                                          [self, refuse](beast::error_code ec) { self->on_handshake(ec, refuse); });
        } else {
            self->on_handshake({}, refuse);
        }
    });
}

template <class Stream>
void Session<Stream>::on_handshake(beast::error_code ec, bool refuse) {
    read_pending_ = false;
    if (link_ != Link::open) return do_close();
    if (ec || refuse) read_ = Read::stopped;
    if (ec) return do_close();
    if constexpr (tls)
        if (alpn_protocol(stream_.native_handle()) == "h2") return hand_over_to_http2(refuse);
    if (refuse) return enqueue(handler_.refuse_connection());
    read_ = Read::idle;
    do_wait();
}

template <class Stream>
void Session<Stream>::drain() {
    asio::dispatch(socket().get_executor(), [self = shared_from_this()] {
        self->draining_ = true;
        bool waiting = self->read_ == Read::handshake || self->read_ == Read::idle;
        if (waiting && !self->writing_ && self->queue_.empty()) self->do_close();
    });
}

// Starts on the next request: parses one already buffered (on a fresh turn, so a long pipeline never deepens the
// stack), or waits for its first bytes (keep-alive idle time). Pauses while max_pipelined responses are queued.
template <class Stream>
void Session<Stream>::do_wait() {
    if (link_ != Link::open || read_pending_ || (read_ != Read::idle && read_ != Read::paused)) return;
    if (queue_.size() >= max_pipelined) {
        read_ = Read::paused;
        return;
    }
    read_ = Read::idle;
    if (buffer_.size() > 0) {
        read_pending_ = true;
        read_deadline_ = coarse_now() + seconds(limits_.header_timeout);
        return asio::post(socket().get_executor(), [self = shared_from_this()] {
            self->read_pending_ = false;
            if (self->link_ != Link::open) return self->do_close();
            if (self->read_ != Read::idle) return self->on_read({});  // stopped meanwhile: close when nothing is left
            self->start_request();
            self->parse();
        });
    }
    if (draining_) {
        read_ = Read::stopped;
        if (!writing_ && queue_.empty()) do_close();
        return;
    }
    // Idle until the next request: no parser, and no more read buffer than its first read needs.
    reader_.reset();
    if (buffer_.capacity() > first_read_size) buffer_.shrink_to_fit();
    if constexpr (std::is_same_v<Stream, TlsStream>) stream_.release_idle_buffers();
    read_deadline_ = coarse_now() + seconds(served_ == 0 ? limits_.header_timeout : limits_.keepalive_timeout);
    do_read(first_read_size);
}

// One read into the buffer. Reading (rather than waiting for readability) lets a request that is already there
// complete at once.
template <class Stream>
void Session<Stream>::do_read(std::size_t size) {
    read_pending_ = true;
    start_ticking();
    stream_.async_read_some(buffer_.prepare(size), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        self->on_read(ec);
    });
}

template <class Stream>
void Session<Stream>::on_read(beast::error_code ec) {
    read_pending_ = false;
    if (link_ != Link::open) return do_close();
    if (read_ == Read::stopped) {
        // A read that was left pending when the request ended (a deadline while a response was being written).
        if (!writing_ && queue_.empty()) do_close();
        return;
    }
    // The client stopped sending or the socket failed: a request cut short is never answered.
    if (ec) return fail(http::ReadFailure::gone, ec.message());
    if (!tls && http2_.cleartext && served_ == 0 && read_ == Read::idle) {
        // h2c with prior knowledge: the first bytes are the HTTP/2 preface rather than a request line.
        auto preface = match_preface(buffer_);
        if (preface == Preface::whole) return hand_over_to_http2(false);
        if (preface == Preface::partial) return do_read(read_size);
    }
    if (read_ == Read::idle) start_request();
    parse();
}

// The connection speaks HTTP/2 from here: the socket (and any bytes already read) go to an Http2Session, which
// takes this one's place in the tracker. Nothing is pending on the socket here (a handshake or read just ended).
template <class Stream>
void Session<Stream>::hand_over_to_http2(bool refuse) {
    std::string received(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    auto next = std::make_shared<Http2Session<Stream>>(std::move(stream_), handler_, limits_, http2_, tracker_,
                                                       remote_, std::move(received));
    const bool drain_too = tracker_.hand_over(this, next) || draining_;
    link_ = Link::closed;
    read_ = Read::stopped;
    tick_.cancel();
    next->run(refuse);
    if (drain_too) next->drain();
}

// A request begins: a fresh reader, and the whole-request deadline starts.
template <class Stream>
void Session<Stream>::start_request() {
    read_ = Read::head;
    read_start_ = clock::now();
    read_deadline_ = read_start_ + seconds(limits_.header_timeout);
    reader_.start();
}

// Parses what is buffered; reads more only when the request is not complete yet.
template <class Stream>
void Session<Stream>::parse() {
    const auto step = reader_.feed(buffer_, handler_);
    if (reader_.in_body()) read_ = Read::body;
    switch (step) {
        case RequestReader::Step::need_more: return do_read(read_size);
        case RequestReader::Step::complete: return on_request();
        case RequestReader::Step::refused:
            read_ = Read::stopped;
            return enqueue(reader_.take_refusal());
        case RequestReader::Step::failed: return fail(reader_.failure(), reader_.detail());
    }
}

// A complete request: the handler answers it; the next one is read unless this response ends the connection.
template <class Stream>
void Session<Stream>::on_request() {
    ++served_;
    answer(reader_.request(), {!draining_ && served_ < limits_.max_requests_per_connection, draining_}, true);
}

// The answer is made in a fresh queue slot, where it waits to be written. With `may_wait`, a request a mirror must
// first fetch gives its slot back and waits for the transfer instead.
template <class Stream>
void Session<Stream>::answer(const http::Request& req, http::ConnectionFacts facts, bool may_wait) {
    Pending& p = queue_.emplace_back();
    p.start = read_start_;
    handler_.handle(req, facts, may_wait, p.ex);
    if (p.ex.wait) {
        auto wait = std::move(p.ex.wait);
        queue_.pop_back();
        return wait_for_upstream(req, std::move(wait), facts);
    }
    read_ = p.ex.reply.keep_alive() ? Read::idle : Read::stopped;
    if (!writing_) do_write();
    do_wait();
}

// The answer waits for a mirror's upstream transfer: no further request is read meanwhile (responses already queued
// keep going out); the transfer's end brings the connection back to its own executor to ask again.
template <class Stream>
void Session<Stream>::wait_for_upstream(const http::Request& req, std::function<void(std::function<void()>)> wait,
                                        http::ConnectionFacts facts) {
    read_ = Read::upstream;
    upstream_request_ = req;
    // The connection moves into the posted handler: the transfer's thread keeps no reference to it once it has called.
    wait([self = shared_from_this(), facts]() mutable {
        auto executor = self->socket().get_executor();
        asio::post(executor, [self = std::move(self), facts] { self->on_upstream(facts); });
    });
}

template <class Stream>
void Session<Stream>::on_upstream(http::ConnectionFacts facts) {
    http::Request req = std::move(*upstream_request_);
    upstream_request_.reset();
    if (link_ != Link::open) return;  // closed meanwhile (a failed write of an earlier response)
    answer(req, facts, false);
}

// The request cannot be read to its end: no further request is read; the handler says whether anything answers.
template <class Stream>
void Session<Stream>::fail(http::ReadFailure why, const std::string& detail) {
    const bool started = read_ == Read::head || read_ == Read::body;
    static const http::Request none;
    read_ = Read::stopped;
    if (auto answer = handler_.read_failed(why, started, started ? reader_.request() : none, detail))
        return enqueue(std::move(*answer));
    if (!writing_ && queue_.empty()) do_close();
}

template <class Stream>
void Session<Stream>::start_ticking() {
    if (link_ == Link::closed) return;
    tick_.arm([self = shared_from_this()](beast::error_code ec) { self->on_tick(ec); });
}

// The deadlines, on each tick of the connection's timer (net/connection.hpp, Ticker): a stalled write is cut; a
// request's deadline holds while an earlier response is still being written; the idle time between requests only
// runs while nothing is being written.
template <class Stream>
void Session<Stream>::on_tick(beast::error_code ec) {
    if (ec || link_ == Link::closed) return;
    auto now = clock::now();
    if (link_ == Link::lingering) {
        if (now >= linger_deadline_) return finish();
    } else {
        if (writing_ && now >= write_deadline_) return socket().close(ec);
        bool waiting = read_ == Read::handshake || read_ == Read::head || read_ == Read::body ||
                       (read_ == Read::idle && read_pending_ && !writing_);
        if (waiting && now >= read_deadline_) on_deadline();
    }
    if (read_pending_ || writing_ || link_ == Link::lingering) start_ticking();
}

// The read deadline passed: a half-received request gets 408 (after any response being written), an idle
// connection or an unfinished TLS handshake closes. A read left pending while writing completes at the close.
template <class Stream>
void Session<Stream>::on_deadline() {
    if (read_ == Read::handshake) {
        read_ = Read::stopped;
        return do_close();
    }
    fail(http::ReadFailure::timeout, "request timeout");
}

template <class Stream>
void Session<Stream>::enqueue(http::Exchange&& ex) {
    Pending& p = queue_.emplace_back();
    p.ex = std::move(ex);
    p.start = read_start_;
    if (!writing_) do_write();
}

// Half-closes, then discards what the client still sends for a moment so it reads the last response, not a reset.
// Called only when nothing is being written; a pending read is cancelled first and its completion calls back here.
template <class Stream>
void Session<Stream>::do_close() {
    if (link_ == Link::lingering || link_ == Link::closed) return;
    link_ = Link::closing;
    read_ = Read::stopped;
    if (read_pending_) {
        beast::error_code ec;
        socket().cancel(ec);
        return;
    }
    start_linger();
}

template <class Stream>
void Session<Stream>::start_linger() {
    link_ = Link::lingering;
    // A lingering connection holds no request state: only the discard buffer, for at most linger_time.
    reader_.reset();
    buffer_.clear();
    buffer_.shrink_to_fit();
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return finish();
    linger_deadline_ = clock::now() + linger_time;
    start_ticking();
    linger_buf_ = std::make_unique_for_overwrite<char[]>(linger_size);
    socket().async_read_some(asio::buffer(linger_buf_.get(), linger_size),
                            [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_linger(e); });
}

template <class Stream>
void Session<Stream>::on_linger(beast::error_code ec) {
    if (link_ == Link::closed) return;
    if (ec) return finish();
    socket().async_read_some(asio::buffer(linger_buf_.get(), linger_size),
                            [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_linger(e); });
}

template <class Stream>
void Session<Stream>::finish() {
    link_ = Link::closed;
    tick_.cancel();
    beast::error_code ec;
    socket().close(ec);
}

template class Session<tcp::socket>;
template class Session<TlsStream>;

}  // namespace modelhost::net
