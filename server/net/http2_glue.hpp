// nghttp2's callbacks for one HTTP/2 connection (net/http2_session.hpp): `user_data` is the session, `source->ptr`
// the stream being sent. They turn frames into stream events of the session, and copy what it sends into its write
// batch; the flood limits nghttp2 enforces are set here, where the session is made.
#pragma once

#include "net/http2_session.hpp"

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>

namespace modelhost::net {

template <class Stream>
struct Http2Glue {
    using Session = Http2Session<Stream>;
    static constexpr std::size_t write_batch = 64 * 1024;  // frames gathered before one write

    // A server session whose callbacks reach `self`; throws std::bad_alloc.
    static nghttp2_session* make_session(Session* self);

    // How much of the content goes in the next DATA frame (NGHTTP2_ERR_DEFERRED while a mirror's file has nothing
    // ready); the bytes themselves are copied once, straight into the write batch, by send_data.
    static ssize_t read_body(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void* ud);

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud);
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                         const uint8_t* value, size_t valuelen, uint8_t, void* ud);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud);
    static int on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t*, size_t len, void* ud);
    static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud);
    static int send_data(nghttp2_session*, nghttp2_frame*, const uint8_t* framehd, size_t length,
                         nghttp2_data_source* source, void* ud);
    static ssize_t send_frame(nghttp2_session*, const uint8_t* data, size_t length, int, void* ud);

private:
    static Session& of(void* user_data) { return *static_cast<Session*>(user_data); }
};

}  // namespace modelhost::net
