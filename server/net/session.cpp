// Connection I/O only: every status and header comes from http::Handler.
#include "net/session.hpp"

#include "config/config.hpp"
#include "log/logging.hpp"
#include "net/tracker.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace modelhost::net {

namespace {

constexpr std::size_t max_pipelined = 8;  // responses queued before reading pauses
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t read_size = 16 * 1024;      // bytes asked of the socket per read
constexpr std::uint64_t sendfile_per_turn = 4 << 20;  // then other connections on this thread get a turn

constexpr int notsent_lowat = 16 * 1024;           // TCP_NOTSENT_LOWAT: unsent bytes the kernel may hold

std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// The status that answers a failed read, or none when the peer is gone or never started a request.
std::optional<bhttp::status> read_error_status(beast::error_code ec, bool timed_out, bool started) {
    if (timed_out) return started ? std::optional(bhttp::status::request_timeout) : std::nullopt;
    if (ec == bhttp::error::header_limit) return bhttp::status::request_header_fields_too_large;
    if (ec == bhttp::error::body_limit) return bhttp::status::payload_too_large;
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return std::nullopt;
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) return bhttp::status::bad_request;
    return std::nullopt;
}

// Deadlines are checked this often: a quarter of the shortest timeout, between 5 ms and 1 s.
std::chrono::steady_clock::duration tick_period(const config::LimitsConfig& l) {
    double shortest = std::min({l.header_timeout, l.keepalive_timeout, l.send_timeout});
    return seconds(std::clamp(shortest / 4, 0.005, 1.0));
}

}  // namespace

template <class Stream>
Session<Stream>::Session(Stream stream, const http::Handler& handler, const config::LimitsConfig& limits,
                         std::uint64_t sendfile_min_bytes, Tracker& tracker)
    : stream_(std::move(stream)),
      handler_(handler),
      limits_(limits),
      tracker_(tracker),
      tick_(socket().get_executor()),
      tick_period_(tick_period(limits)),
      queue_(max_pipelined + 1),
      sendfile_min_(sendfile_min_bytes) {
    beast::error_code ec;
    auto ep = socket().remote_endpoint(ec);
    remote_ = ec ? "-" : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket().set_option(tcp::no_delay(true), ec);
    // Plain sockets are written directly (a response usually leaves in one call); TLS goes through the stream.
    if constexpr (!tls) socket().non_blocking(true, ec);
    // Keep little unsent data queued in the kernel: each write (or sendfile) then goes out at once from this thread
    // instead of being pushed later by the peer's ACKs; on loopback this tripled large-file throughput.
    int lowat = notsent_lowat;
    ::setsockopt(socket().native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
}

template <class Stream>
Session<Stream>::~Session() { tracker_.remove(this); }

template <class Stream>
void Session<Stream>::run(bool refuse) {
    asio::dispatch(socket().get_executor(), [self = shared_from_this(), refuse] {
        self->refuse_ = refuse;
        if constexpr (tls) {
            // The handshake counts as the wait for the first request: the same deadline bounds it.
            self->phase_ = Phase::idle;
            self->reading_ = true;
            self->read_deadline_ = std::chrono::steady_clock::now() + seconds(self->limits_.header_timeout);
            self->start_ticking();
            self->stream_.async_handshake(asio::ssl::stream_base::server,
                                          [self](beast::error_code ec) { self->on_handshake(ec); });
        } else {
            self->on_handshake({});
        }
    });
}

template <class Stream>
void Session<Stream>::on_handshake(beast::error_code ec) {
    reading_ = false;
    if (phase_ == Phase::closing) return do_close();
    if (ec) {
        stop_reading_ = true;
        return do_close();
    }
    if (!refuse_) return do_wait();
    stop_reading_ = true;
    enqueue(handler_.reject(bhttp::status::service_unavailable, http::Request{}, "connection limit"));
}

template <class Stream>
void Session<Stream>::drain() {
    asio::dispatch(socket().get_executor(), [self = shared_from_this()] {
        self->draining_ = true;
        if (self->reading_ && self->phase_ == Phase::idle && !self->writing_) self->do_close();
    });
}

// Waits for the first bytes of the next request (keep-alive idle time), unless some are already buffered.
template <class Stream>
void Session<Stream>::do_wait() {
    if (stop_reading_ || reading_ || phase_ >= Phase::closing || queue_.size() >= max_pipelined) return;
    if (buffer_.size() > 0) {
        // A pipelined request is already here: parse it on a fresh turn, so a long pipeline never deepens the stack.
        reading_ = true;
        return asio::post(socket().get_executor(), [self = shared_from_this()] {
            self->reading_ = false;
            if (self->phase_ == Phase::closing) return self->do_close();
            self->do_read();
        });
    }
    if (draining_) {
        if (!writing_) do_close();
        return;
    }
    phase_ = Phase::idle;
    reading_ = true;
    read_deadline_ = std::chrono::steady_clock::now() + seconds(served_ == 0 ? limits_.header_timeout : limits_.keepalive_timeout);
    start_ticking();
    // Reading (rather than waiting for readability) lets a request that is already there complete at once.
    stream_.async_read_some(buffer_.prepare(read_size), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        self->on_wait(ec);
    });
}

template <class Stream>
void Session<Stream>::on_wait(beast::error_code ec) {
    reading_ = false;
    if (phase_ == Phase::closing) return do_close();
    if (ec) {
        stop_reading_ = true;
        if (!writing_) do_close();
        return;
    }
    do_read();
}

template <class Stream>
void Session<Stream>::do_read() {
    phase_ = Phase::reading;
    read_start_ = std::chrono::steady_clock::now();
    read_deadline_ = read_start_ + seconds(limits_.header_timeout);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    parser_->eager(true);
    parse_buffered();
}

// Parses what is buffered; reads more only when the request is not complete yet.
template <class Stream>
void Session<Stream>::parse_buffered() {
    if (buffer_.size() > 0) {
        beast::error_code ec;
        buffer_.consume(parser_->put(buffer_.data(), ec));
        if (ec && ec != bhttp::error::need_more) return on_read(ec);
        if (parser_->is_done()) return on_read({});
    }
    reading_ = true;
    start_ticking();
    stream_.async_read_some(buffer_.prepare(read_size), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        self->on_read_some(ec);
    });
}

template <class Stream>
void Session<Stream>::on_read_some(beast::error_code ec) {
    reading_ = false;
    if (phase_ == Phase::closing) return do_close();
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        // The client stopped sending: a request cut short is partial_message, none at all is end_of_stream.
        if (!parser_->got_some()) return on_read(bhttp::error::end_of_stream);
        ec = {};
        parser_->put_eof(ec);
        return on_read(ec ? ec : beast::error_code(bhttp::error::partial_message));
    }
    if (ec) return on_read(ec);
    parse_buffered();
}

template <class Stream>
void Session<Stream>::start_ticking() {
    if (ticking_ || phase_ == Phase::closed) return;
    ticking_ = true;
    tick_.expires_after(tick_period_);
    tick_.async_wait([self = shared_from_this()](beast::error_code ec) { self->on_tick(ec); });
}

// One periodic check per connection instead of a timer per operation: deadlines are plain time points.
// An idle keep-alive ends silently, a half-received request gets 408, a stalled write or linger is cut.
// A read deadline never cuts a write short.
template <class Stream>
void Session<Stream>::on_tick(beast::error_code ec) {
    ticking_ = false;
    if (ec || phase_ == Phase::closed) return;
    auto now = std::chrono::steady_clock::now();
    if (lingering_) {
        if (now >= linger_deadline_) return finish();
    } else if (writing_) {
        if (now >= write_deadline_) return socket().close(ec);
    } else if (reading_ && now >= read_deadline_) {
        read_timed_out_ = phase_ == Phase::reading;
        socket().cancel(ec);
        return;
    }
    if (reading_ || writing_ || lingering_) start_ticking();
}

template <class Stream>
void Session<Stream>::on_read(beast::error_code ec) {
    reading_ = false;
    if (phase_ == Phase::closing) return do_close();
    if (ec) {
        stop_reading_ = true;
        bool started = parser_->got_some() || buffer_.size() > 0;
        auto status = read_error_status(ec, read_timed_out_, started);
        if (!status) {
            if (!writing_) do_close();  // the peer went away, or the connection sat idle: nothing to answer
            return;
        }
        return enqueue(handler_.reject(*status, parser_->get(), read_timed_out_ ? "request timeout" : ec.message()));
    }
    ++served_;
    http::ConnectionFacts facts{!draining_ && served_ < limits_.max_requests_per_connection, draining_};
    http::Exchange ex = handler_.handle(parser_->get(), facts);
    stop_reading_ = !ex.reply.keep_alive();
    enqueue(std::move(ex));
    do_wait();
}

template <class Stream>
void Session<Stream>::enqueue(http::Exchange ex) {
    queue_.push_back(Pending{std::move(ex), read_start_});
    if (!writing_) do_write();
}

template <class Stream>
void Session<Stream>::do_write() {
    writing_ = true;
    out_.start(queue_.front().ex.reply, !tls, sendfile_min_);
    write_some();
}

// Sends what is ready — the rest of the head with the next content bytes — until done or the socket is full.
// Plain sockets are written directly, so a response that fits in the socket buffer completes without a wait.
template <class Stream>
void Session<Stream>::write_some() {
    for (;;) {
        if (out_.by_sendfile() && out_.head_done()) return do_sendfile();
        beast::error_code ec;
        std::array<asio::const_buffer, 2> bufs;
        if (!out_.next(bufs, ec)) return on_write(ec);
        if (bufs[0].size() + bufs[1].size() == 0) return on_write({});
        if constexpr (tls) {
            write_deadline_ = std::chrono::steady_clock::now() + seconds(limits_.send_timeout);
            start_ticking();
            stream_.async_write_some(bufs, [self = shared_from_this()](beast::error_code e, std::size_t n) {
                if (e) return self->on_write(e);
                self->out_.advance(n);
                self->write_some();
            });
            return;
        } else {
            // More is coming by sendfile: let the kernel join the head with the first body bytes.
            std::size_t n = socket().send(bufs, out_.by_sendfile() ? MSG_MORE : 0, ec);
            if (ec == asio::error::would_block) return wait_writable();
            if (ec) return on_write(ec);
            out_.advance(n);
        }
    }
}

template <class Stream>
void Session<Stream>::wait_writable() {
    write_deadline_ = std::chrono::steady_clock::now() + seconds(limits_.send_timeout);
    start_ticking();
    socket().async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->on_write(ec);
        self->write_some();
    });
}

// Zero-copy content: sendfile(2) until done or the socket would block, at most a few MiB per turn so other
// connections on this thread are not starved.
template <class Stream>
void Session<Stream>::do_sendfile() {
    std::uint64_t sent_this_turn = 0;
    while (out_.file_left() > 0) {
        if (sent_this_turn >= sendfile_per_turn)
            return asio::post(socket().get_executor(), [self = shared_from_this()] { self->write_some(); });
        auto offset = static_cast<off_t>(out_.file_offset());
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(out_.file_left(), sendfile_per_turn - sent_this_turn));
        ssize_t n = ::sendfile(socket().native_handle(), out_.file_fd(), &offset, want);
        if (n > 0) {
            out_.sent(static_cast<std::uint64_t>(n));
            sent_this_turn += static_cast<std::uint64_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return wait_writable();
        } else {
            // The file shrank (n == 0) or the socket failed: close rather than send bytes the file no longer has.
            return on_write(beast::error_code(n == 0 ? EIO : errno, boost::system::generic_category()));
        }
    }
    on_write({});
}

// The response is out (or failed): log it, then send the next one, read the next request, or close.
template <class Stream>
void Session<Stream>::on_write(beast::error_code ec) {
    Pending& done = queue_.front();
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - done.start).count();
    log::access({remote_, done.ex.log, done.ex.reply.result_int(), out_.content_sent(), ms});
    bool close = ec || !done.ex.reply.keep_alive();
    queue_.pop_front();
    out_.finish();
    writing_ = false;
    if (close) {
        stop_reading_ = true;
        return do_close();
    }
    if (!queue_.empty()) return do_write();
    // Idle time is counted from the end of the last response, not from when the wait began.
    if (reading_ && phase_ == Phase::idle)
        read_deadline_ = std::chrono::steady_clock::now() + seconds(limits_.keepalive_timeout);
    // Nothing more to send: close when no request may follow, or when draining and none has started.
    if ((stop_reading_ && !reading_) || (draining_ && (!reading_ || phase_ == Phase::idle))) return do_close();
    do_wait();
}

// Half-closes, then discards what the client still sends for a moment so it reads the last response, not a reset.
template <class Stream>
void Session<Stream>::do_close() {
    if (lingering_ || phase_ == Phase::closed) return;
    phase_ = Phase::closing;
    if (reading_) {
        beast::error_code ec;
        socket().cancel(ec);  // the pending read completes with an error and calls back here
        return;
    }
    start_linger();
}

template <class Stream>
void Session<Stream>::start_linger() {
    lingering_ = true;
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return finish();
    linger_deadline_ = std::chrono::steady_clock::now() + linger_time;
    start_ticking();
    socket().async_read_some(asio::buffer(linger_buf_),
                            [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_linger(e); });
}

template <class Stream>
void Session<Stream>::on_linger(beast::error_code ec) {
    if (phase_ == Phase::closed) return;
    if (ec) return finish();
    socket().async_read_some(asio::buffer(linger_buf_),
                            [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_linger(e); });
}

template <class Stream>
void Session<Stream>::finish() {
    phase_ = Phase::closed;
    tick_.cancel();
    beast::error_code ec;
    socket().close(ec);
}

template class Session<tcp::socket>;
template class Session<TlsStream>;

}  // namespace modelhost::net
