// Connection I/O only: every status and header comes from http::Handler.
#include "net/session.hpp"

#include "config/config.hpp"
#include "log/logging.hpp"
#include "net/tracker.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cerrno>
#include <sys/sendfile.h>

namespace modelhost::net {

namespace {

constexpr std::size_t max_pipelined = 8;  // responses queued before reading pauses
constexpr auto linger_time = std::chrono::seconds(2);

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
      sendfile_min_(sendfile_min_bytes) {
    beast::error_code ec;
    auto ep = socket().remote_endpoint(ec);
    remote_ = ec ? "-" : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket().set_option(tcp::no_delay(true), ec);
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
    if (buffer_.size() > 0) return do_read();
    if (draining_) {
        if (!writing_) do_close();
        return;
    }
    phase_ = Phase::idle;
    reading_ = true;
    read_deadline_ = std::chrono::steady_clock::now() + seconds(served_ == 0 ? limits_.header_timeout : limits_.keepalive_timeout);
    start_ticking();
    // Reading (rather than waiting for readability) lets a request that is already there complete at once.
    stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
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
    reading_ = true;
    read_start_ = std::chrono::steady_clock::now();
    read_deadline_ = read_start_ + seconds(limits_.header_timeout);
    start_ticking();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
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
    const http::Reply& reply = queue_.front().ex.reply;
    serializer_.emplace(reply);
    const auto& body = reply.body();
    sendfile_ = !tls && body.file && !body.omitted && body.length >= sendfile_min_;
    if (sendfile_) {
        serializer_->split(true);  // Beast writes the header; the kernel copies the body
        sendfile_offset_ = body.offset;
        sendfile_left_ = body.length;
    }
    write_some();
}

template <class Stream>
bool Session<Stream>::write_done() {
    return sendfile_ ? serializer_->is_header_done() && sendfile_left_ == 0 : serializer_->is_done();
}

template <class Stream>
void Session<Stream>::write_some() {
    write_deadline_ = std::chrono::steady_clock::now() + seconds(limits_.send_timeout);
    start_ticking();
    if (sendfile_ && serializer_->is_header_done()) return do_sendfile();
    bhttp::async_write_some(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->on_write(ec, n);
    });
}

// Zero-copy body: sendfile(2) until the socket would block, at most a few MiB per turn so other
// connections on this thread are not starved.
template <class Stream>
void Session<Stream>::do_sendfile() {
    constexpr std::uint64_t per_turn = 4 << 20;
    beast::error_code ec;
    if (!socket().native_non_blocking()) socket().native_non_blocking(true, ec);
    const int file_fd = queue_.front().ex.reply.body().file->fd();
    std::uint64_t sent_this_turn = 0;
    while (!ec && sendfile_left_ > 0 && sent_this_turn < per_turn) {
        auto offset = static_cast<off_t>(sendfile_offset_);
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(sendfile_left_, per_turn - sent_this_turn));
        ssize_t n = ::sendfile(socket().native_handle(), file_fd, &offset, want);
        if (n > 0) {
            sendfile_offset_ += static_cast<std::uint64_t>(n);
            sendfile_left_ -= static_cast<std::uint64_t>(n);
            sent_this_turn += static_cast<std::uint64_t>(n);
            bytes_sent_ += static_cast<std::uint64_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return socket().async_wait(tcp::socket::wait_write,
                                      [self = shared_from_this()](beast::error_code e) { self->on_write(e, 0); });
        } else {
            // The file shrank (n == 0) or the socket failed: close rather than send bytes the file no longer has.
            ec = beast::error_code(n == 0 ? EIO : errno, boost::system::generic_category());
        }
    }
    asio::post(socket().get_executor(), [self = shared_from_this(), ec] { self->on_write(ec, 0); });
}

template <class Stream>
void Session<Stream>::on_write(beast::error_code ec, std::size_t bytes) {
    bytes_sent_ += bytes;
    if (!ec && !write_done()) return write_some();

    Pending& done = queue_.front();
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - done.start).count();
    auto body_bytes = ec ? bytes_sent_ : http::ReplyBody::size(done.ex.reply.body());
    log::access({remote_, done.ex.log, done.ex.reply.result_int(), body_bytes, ms});
    bool close = ec || !done.ex.reply.keep_alive();
    bytes_sent_ = 0;
    serializer_.reset();
    queue_.pop_front();
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
