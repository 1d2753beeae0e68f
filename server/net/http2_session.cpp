// HTTP/2 connection I/O: reading into nghttp2, writing its frames, deadlines and the connection's phases. Every
// status and header comes from http::Handler; nghttp2's callbacks are in net/http2_glue.cpp, the stream-level rules
// (the request's shape, the response's fields, content frame by frame) in net/http2_stream.cpp.
#include "net/http2_session.hpp"

#include "net/http2_glue.hpp"

#include "config/config.hpp"
#include "log/logging.hpp"
#include "net/tracker.hpp"

#include <boost/asio/dispatch.hpp>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

namespace modelhost::net {

namespace {

constexpr std::size_t read_size = 16 * 1024;  // bytes asked of the socket per read
// Request bodies are never used (GET, HEAD, OPTIONS): a small window keeps what a client can push unasked small.
constexpr std::int32_t request_window = 64 * 1024;

}  // namespace

template <class Stream>
Http2Session<Stream>::Http2Session(Stream stream, const http::Handler& handler, const config::LimitsConfig& limits,
                                   const config::Http2Config& http2, Tracker& tracker, std::string remote,
                                   std::string received)
    : stream_(std::move(stream)),
      handler_(handler),
      limits_(limits),
      http2_(http2),
      tracker_(tracker),
      remote_(std::move(remote)),
      received_(std::move(received)),
      ng_(Http2Glue<Stream>::make_session(this)),
      tick_(socket().get_executor(), limits),
      idle_since_(Clock::now()) {}

template <class Stream>
Http2Session<Stream>::~Http2Session() {
    nghttp2_session_del(ng_);
    tracker_.remove(this);
}

template <class Stream>
void Http2Session<Stream>::run(bool refuse) {
    asio::dispatch(socket().get_executor(), [self = shared_from_this(), refuse] { self->start(refuse); });
}

template <class Stream>
void Http2Session<Stream>::start(bool refuse) {
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, http2_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(request_window)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(limits_.max_header_bytes)},
    };
    nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    if (refuse) return go_away(NGHTTP2_REFUSED_STREAM, "connection limit reached");
    if (!received_.empty()) {
        std::string first = std::move(received_);
        feed(first.data(), first.size());
        if (phase_ >= Phase::lingering) return;
    }
    flush();
    do_read();
}

template <class Stream>
void Http2Session<Stream>::drain() {
    asio::dispatch(socket().get_executor(), [self = shared_from_this()] {
        if (self->phase_ != Phase::open) return;
        self->phase_ = Phase::going_away;
        self->go_away(NGHTTP2_NO_ERROR, "");
    });
}

// GOAWAY naming the last stream this connection accepted: the streams already open finish, later ones are refused;
// nghttp2 then wants neither to read nor to write, and flush() closes.
template <class Stream>
void Http2Session<Stream>::go_away(std::uint32_t error_code, std::string_view why) {
    nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), error_code,
                          reinterpret_cast<const uint8_t*>(why.data()), why.size());
    flush();
}

template <class Stream>
void Http2Session<Stream>::do_read() {
    if (reading_ || phase_ == Phase::closed) return;
    if (phase_ != Phase::lingering && !nghttp2_session_want_read(ng_)) return;
    if (!read_buf_) read_buf_ = std::make_unique_for_overwrite<char[]>(read_size);
    reading_ = true;
    start_ticking();
    stream_.async_read_some(asio::buffer(read_buf_.get(), read_size),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

template <class Stream>
void Http2Session<Stream>::on_read(beast::error_code ec, std::size_t n) {
    reading_ = false;
    if (phase_ == Phase::closed) return;
    if (ec) return finish();  // the client closed or the socket failed: open streams end with it
    if (phase_ == Phase::lingering) return do_read();  // discard
    feed(read_buf_.get(), n);
    if (phase_ >= Phase::lingering) return;
    flush();
    do_read();
}

// Hands received bytes to nghttp2, which calls back for each frame; a protocol error or a flood ends the session with
// GOAWAY (ENHANCE_YOUR_CALM for floods, PROTOCOL_ERROR otherwise), sent before the connection closes.
template <class Stream>
void Http2Session<Stream>::feed(const char* data, std::size_t n) {
    auto rv = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data), n);
    if (rv < 0) {
        log::debug("http2 {}: {}; closing the connection", remote_, nghttp2_strerror(static_cast<int>(rv)));
        if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) return finish();
        const bool flood = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ||
                           rv == NGHTTP2_ERR_TOO_MANY_SETTINGS;
        nghttp2_session_terminate_session(ng_, flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
        flush();
    }
}

// Writes what nghttp2 has to send, a batch of about Http2Glue::write_batch bytes at a time; closes when it wants
// neither to read nor to write.
template <class Stream>
void Http2Session<Stream>::flush() {
    if (writing_ || phase_ >= Phase::lingering) return;
    out_.size = 0;
    // nghttp2 calls send_frame and send_data until the batch is full (they answer "would block") or nothing is left.
    if (nghttp2_session_send(ng_) != 0) return finish();
    if (out_.size == 0) {
        if (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_)) close_gracefully();
        return;
    }
    writing_ = true;
    write_deadline_ = coarse_now() + seconds(limits_.send_timeout);
    start_ticking();
    write_from(0);
}

// Writes the batch from `offset` to its end.
template <class Stream>
void Http2Session<Stream>::write_from(std::size_t offset) {
    stream_.async_write_some(asio::buffer(out_.data.get() + offset, out_.size - offset),
                             [self = shared_from_this(), offset](beast::error_code ec, std::size_t n) {
                                 if (!ec && offset + n < self->out_.size) return self->write_from(offset + n);
                                 self->on_written(ec);
                             });
}

template <class Stream>
void Http2Session<Stream>::on_written(beast::error_code ec) {
    writing_ = false;
    if (phase_ == Phase::closed) return;
    if (ec) return finish();
    progress_ = coarse_now();
    flush();
    do_read();
}

template <class Stream>
void Http2Session<Stream>::start_ticking() {
    if (phase_ == Phase::closed) return;
    tick_.arm([self = shared_from_this()](beast::error_code ec) { self->on_tick(ec); });
}

template <class Stream>
void Http2Session<Stream>::on_tick(beast::error_code ec) {
    if (ec || phase_ == Phase::closed) return;
    check_deadlines(coarse_now());
    if (phase_ != Phase::closed) start_ticking();
}

// A stalled write cuts the connection; a request whose header or body is not complete in limits.header_timeout
// gets 408 on its stream; a connection with no open stream closes after keepalive_timeout (header_timeout before
// its first request).
template <class Stream>
void Http2Session<Stream>::check_deadlines(Clock::time_point now) {
    if (phase_ == Phase::lingering) {
        if (now >= linger_deadline_) finish();
        return;
    }
    if (writing_ && now >= write_deadline_) return finish();
    // Answers the client does not take (its flow-control window kept shut): after limits.send_timeout without a byte
    // written the connection closes, as a stalled HTTP/1.1 write does.
    const bool answered = std::any_of(streams_.begin(), streams_.end(), [](const auto& e) {
        return e.second->has_response() && !e.second->waiting_for_content;  // waiting on a mirror's upstream, not the client
    });
    if (answered && !writing_ && now - progress_ >= seconds(limits_.send_timeout)) return finish();
    const auto request_limit = seconds(limits_.header_timeout);
    std::vector<Http2Stream*> late;
    for (auto& [id, s] : streams_) {
        if (s->answered() || now - s->start() < request_limit) continue;
        // A header block still open holds the whole connection (only its CONTINUATION frames may come next).
        if (!s->headers_done()) return finish();
        late.push_back(s.get());
    }
    for (auto* s : late) answer(*s);
    if (!late.empty()) flush();
    const auto idle_limit = seconds(served_ == 0 ? limits_.header_timeout : limits_.keepalive_timeout);
    if (streams_.empty() && !writing_ && phase_ == Phase::open && now - idle_since_ >= idle_limit) {
        phase_ = Phase::going_away;
        go_away(NGHTTP2_NO_ERROR, "idle");
    }
}

// Half-closes after the last frame, then discards what the client still sends for a moment.
template <class Stream>
void Http2Session<Stream>::close_gracefully() {
    if (phase_ >= Phase::lingering) return;
    phase_ = Phase::lingering;
    end_all_streams();
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return finish();
    linger_deadline_ = Clock::now() + linger_time;
    start_ticking();
    do_read();
}

template <class Stream>
void Http2Session<Stream>::finish() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    end_all_streams();
    tick_.cancel();
    beast::error_code ec;
    socket().close(ec);
}

// The connection ends with streams still open: each answered one is logged with what was sent of it.
template <class Stream>
void Http2Session<Stream>::end_all_streams() {
    while (!streams_.empty()) end_stream(streams_.begin()->first, NGHTTP2_CANCEL);
}

template <class Stream>
Http2Stream* Http2Session<Stream>::begin_stream(std::int32_t id) {
    return last_found_ = streams_.insert_or_assign(id, std::make_unique<Http2Stream>(id)).first->second.get();
}

template <class Stream>
Http2Stream* Http2Session<Stream>::find(std::int32_t id) {
    if (last_found_ && last_found_->id() == id) return last_found_;
    auto it = streams_.find(id);
    if (it == streams_.end()) return nullptr;
    return last_found_ = it->second.get();
}

// A complete request (or one refused early: too large, too slow): the handler answers it like any HTTP/1.1 request.
// The request is HTTP/1.1-shaped for the pipeline: :method, :path, and :authority as Host (RFC 9113 §8.3.1).
// The answer is made in the stream's own exchange (no Exchange moved per stream).
template <class Stream>
void Http2Session<Stream>::answer(Http2Stream& s) {
    const auto now = coarse_now();  // (deadlines are whole seconds away)
    progress_ = now;
    ++served_;
    const http::Request& req = s.request();
    std::optional<http::Exchange> refused;
    if (s.header_overflow()) refused = handler_.read_failed(http::ReadFailure::header_limit, true, req, "HTTP/2 header list");
    else if (s.body_bytes() > limits_.max_body_bytes)
        refused = handler_.read_failed(http::ReadFailure::body_limit, true, req, "HTTP/2 request body");
    else if (now - s.start() >= seconds(limits_.header_timeout))
        refused = handler_.read_failed(http::ReadFailure::timeout, true, req, "request timeout");
    else
        refused = handler_.screen(req);
    if (refused) return respond(s, std::move(refused));
    handler_.handle(req, http::ConnectionFacts{true, phase_ != Phase::open}, true, s.exchange());
    if (s.exchange().wait) return wait_for_upstream(s);
    respond(s);
}

// The answer waits for a mirror's upstream transfer; other streams go on. Its end brings the connection back to its
// own executor to ask again (the stream may have been reset meanwhile).
template <class Stream>
void Http2Session<Stream>::wait_for_upstream(Http2Stream& s) {
    s.set_waiting(true);
    auto wait = std::move(s.exchange().wait);
    // The connection moves into the posted handler: the transfer's thread keeps no reference to it once it has called.
    wait([self = shared_from_this(), id = s.id(), draining = phase_ != Phase::open]() mutable {
        auto executor = self->socket().get_executor();
        asio::post(executor, [self = std::move(self), id, draining] { self->on_upstream(id, draining); });
    });
}

template <class Stream>
void Http2Session<Stream>::on_upstream(std::int32_t id, bool draining) {
    Http2Stream* s = find(id);
    if (!s || phase_ >= Phase::lingering) return;
    s->set_waiting(false);
    progress_ = coarse_now();
    http::Exchange ex = handler_.handle(s->request(), http::ConnectionFacts{true, draining}, false);
    if (ex.wait) {  // the file it waited for was evicted at once (or by another process) and is being filled again
        s->exchange() = std::move(ex);
        return wait_for_upstream(*s);
    }
    respond(*s, std::move(ex));
    flush();
}

// A stream's content is a file a mirror is still fetching and its next bytes are not there yet: its DATA waits
// (deferred) until the writer calls back; the connection's other streams go on.
template <class Stream>
void Http2Session<Stream>::wait_for_content(Http2Stream& s) {
    if (s.waiting_for_content) return;
    s.waiting_for_content = true;
    s.growing()->when_beyond(s.offset(), [self = shared_from_this(), id = s.id()]() mutable {
        auto executor = self->socket().get_executor();
        asio::post(executor, [self = std::move(self), id] {
            Http2Stream* waiting = self->find(id);
            if (!waiting || self->phase_ >= Phase::lingering) return;
            waiting->waiting_for_content = false;
            self->progress_ = coarse_now();
            nghttp2_session_resume_data(self->ng_, id);
            self->flush();
        });
    });
}

// An answer made elsewhere (a refusal, or after a wait); none resets the stream.
template <class Stream>
void Http2Session<Stream>::respond(Http2Stream& s, std::optional<http::Exchange> ex) {
    if (!ex) {
        s.abandon();
        nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id(), NGHTTP2_INTERNAL_ERROR);
        return;
    }
    s.exchange() = std::move(*ex);
    respond(s);
}

// Submits the fields of the stream's answer and, when it has content, the provider nghttp2 reads its DATA frames from.
template <class Stream>
void Http2Session<Stream>::respond(Http2Stream& s) {
    const bool has_content = s.answer();
    static thread_local std::vector<nghttp2_nv> fields;
    response_fields(s.exchange().reply, s.field_text(), fields);
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = Http2Glue<Stream>::read_body;
    if (nghttp2_submit_response(ng_, s.id(), fields.data(), fields.size(), has_content ? &provider : nullptr) != 0)
        nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id(), NGHTTP2_INTERNAL_ERROR);
}

// The stream is over (sent, reset by either side, or the connection ended): one access-log line if it was answered.
template <class Stream>
void Http2Session<Stream>::end_stream(std::int32_t id, std::uint32_t error_code) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    Http2Stream& s = *it->second;
    if (s.has_response()) {
        auto& ex = s.exchange();
        if (error_code != NGHTTP2_NO_ERROR) {  // after any note the answer had (a reset mirror stream keeps both)
            const std::string why = error_code == NGHTTP2_CANCEL && phase_ == Phase::closed
                                        ? "connection closed"
                                        : std::string("stream reset: ").append(nghttp2_http2_strerror(error_code));
            s.add_note(why);
        }
        record_exchange(remote_, "HTTP/2", ex, s.sent(), s.start());
    }
    if (last_found_ == &s) last_found_ = nullptr;
    streams_.erase(it);
    if (streams_.empty()) idle_since_ = coarse_now();
}

template <class Stream>
typename Http2Session<Stream>::View Http2Session<Stream>::view() const {
    View v{{}, phase_ < Phase::lingering, writing_, nghttp2_session_want_write(ng_) != 0, out_.capacity};
    const std::int32_t connection = nghttp2_session_get_remote_window_size(ng_);
    for (const auto& [id, s] : streams_) {
        nghttp2_stream* ns = nghttp2_session_find_stream(ng_, id);
        const auto state = ns ? nghttp2_stream_get_state(ns) : NGHTTP2_STREAM_STATE_CLOSED;
        v.streams.push_back({id, s->answered(),
                             state == NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE || state == NGHTTP2_STREAM_STATE_CLOSED,
                             state == NGHTTP2_STREAM_STATE_HALF_CLOSED_LOCAL || state == NGHTTP2_STREAM_STATE_CLOSED,
                             std::min(connection, nghttp2_session_get_stream_remote_window_size(ng_, id))});
    }
    return v;
}

template class Http2Session<tcp::socket>;
template class Http2Session<TlsStream>;

}  // namespace modelhost::net
