// nghttp2's callbacks (net/http2_glue.hpp).
#include "net/http2_glue.hpp"

#include "config/config.hpp"

#include <cstring>
#include <new>

namespace modelhost::net {

namespace {

// RST_STREAM from the client: a burst, then this many per second; past that GOAWAY (CVE-2023-44487, rapid reset).
constexpr std::uint64_t reset_burst = 200, reset_rate = 33;
constexpr std::size_t max_continuations = 8;  // CONTINUATION frames after one HEADERS (CVE-2024-28182)
constexpr std::size_t max_outbound_ack = 1000;  // SETTINGS and PING acknowledgements queued unsent (floods)
constexpr std::size_t max_settings = 32;        // entries in one SETTINGS frame

}  // namespace

template <class Stream>
int Http2Glue<Stream>::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        of(ud).begin_stream(frame->hd.stream_id);
    else if (auto* s = of(ud).find(frame->hd.stream_id))
        s->begin_trailers();
    return 0;
}

template <class Stream>
int Http2Glue<Stream>::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                                 const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    if (Http2Stream* s = of(ud).find(frame->hd.stream_id))
        s->add_field({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen},
                     of(ud).limits_.max_header_bytes);
    return 0;
}

template <class Stream>
int Http2Glue<Stream>::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    const bool ends = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS)
        if (Http2Stream* s = of(ud).find(frame->hd.stream_id)) s->end_headers();
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && ends)
        if (Http2Stream* s = of(ud).find(frame->hd.stream_id); s && !s->answered()) of(ud).answer(*s);
    return 0;
}

template <class Stream>
int Http2Glue<Stream>::on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t*, size_t len, void* ud) {
    Http2Stream* s = of(ud).find(stream_id);
    if (!s) return 0;
    s->add_body(len);
    if (!s->answered() && s->body_bytes() > of(ud).limits_.max_body_bytes) of(ud).answer(*s);  // 413 now
    return 0;
}

template <class Stream>
int Http2Glue<Stream>::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud) {
    of(ud).end_stream(stream_id, error_code);
    return 0;
}

// NGHTTP2_DATA_FLAG_NO_COPY: send_data copies the bytes.
template <class Stream>
ssize_t Http2Glue<Stream>::read_body(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* flags,
                                     nghttp2_data_source* source, void* ud) {
    bool last = false;
    auto* stream = static_cast<Http2Stream*>(source->ptr);
    std::size_t n = stream->next_frame(length, last);
    if (n == 0 && !last && stream->growing()) {  // a file a mirror is still fetching: nothing ready yet
        if (stream->growing()->failed()) {  // resets this stream
            stream->add_note("the transfer it was streamed from failed");
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        of(ud).wait_for_content(*stream);
        return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (last) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
}

// One DATA frame: its 9-byte header, then `length` content bytes read from memory or the file into the batch.
template <class Stream>
int Http2Glue<Stream>::send_data(nghttp2_session*, nghttp2_frame*, const uint8_t* framehd, size_t length,
                                 nghttp2_data_source* source, void* ud) {
    Session& self = of(ud);
    if (self.out_.size >= write_batch) return NGHTTP2_ERR_WOULDBLOCK;
    char* to = self.out_.extend(9 + length);
    std::memcpy(to, framehd, 9);
    // The file shrank or failed under us: the frame is taken back out of the batch (nothing of it was sent) and only
    // this stream is reset (RST_STREAM, INTERNAL_ERROR); the connection's other streams go on.
    if (!static_cast<Http2Stream*>(source->ptr)->copy_content(to + 9, length)) {
        self.out_.size -= 9 + length;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

// Every other frame (headers, settings, acknowledgements, window updates, GOAWAY) is copied into the batch.
template <class Stream>
ssize_t Http2Glue<Stream>::send_frame(nghttp2_session*, const uint8_t* data, size_t length, int, void* ud) {
    Session& self = of(ud);
    if (self.out_.size >= write_batch) return NGHTTP2_ERR_WOULDBLOCK;
    std::memcpy(self.out_.extend(length), data, length);
    return static_cast<ssize_t>(length);
}

template <class Stream>
nghttp2_session* Http2Glue<Stream>::make_session(Http2Session<Stream>* self) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_send_callback(cb, send_frame);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_data);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_stream_reset_rate_limit(opt, reset_burst, reset_rate);
    nghttp2_option_set_max_continuations(opt, max_continuations);
    nghttp2_option_set_max_outbound_ack(opt, max_outbound_ack);
    nghttp2_option_set_max_settings(opt, max_settings);
    nghttp2_session* ng = nullptr;
    int rv = nghttp2_session_server_new2(&ng, cb, self, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) throw std::bad_alloc();
    return ng;
}

template struct Http2Glue<tcp::socket>;
template struct Http2Glue<TlsStream>;

}  // namespace modelhost::net
