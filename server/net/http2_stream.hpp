// One HTTP/2 request stream, without I/O: its fields as they arrive, the HTTP/1.1-shaped request the pipeline takes,
// the answer's HTTP/2 fields, and its content read frame by frame. And the batch frames are written in.
// The connection (net/http2_session.hpp) drives these from nghttp2's callbacks.
#pragma once

#include "http/message.hpp"
#include "net/connection.hpp"

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::net {

// Content goes in DATA frames of at most this much (the protocol's default frame size, whatever the client allows).
constexpr std::size_t max_data_frame = 16 * 1024;

struct LoweredBlock;

// What the fields of one answer point into besides the reply itself: lower-cased names and numbers. Each stream has
// its own: the reply's own names, and its pre-built blocks as HTTP/2 fields (shared, made once per block).
struct FieldText {
    std::string names;
    std::array<char, 4> status{};
    std::array<char, 24> length{};
    std::array<std::shared_ptr<const LoweredBlock>, 3> blocks;
};

class Http2Stream {
public:
    explicit Http2Stream(std::int32_t id) : id_(id) {}

    std::int32_t id() const { return id_; }
    Clock::time_point start() const { return start_; }

    // Fields of the request (or its trailers, counted and not kept), each counted with its RFC 7541 §4.1 size
    // (name + value + 32) against `max_header_bytes`; past it the rest is dropped and the request answered 431.
    void begin_trailers() { in_trailers_ = true; }
    void add_field(std::string_view name, std::string_view value, std::size_t max_header_bytes);
    void end_headers() { headers_done_ = true; }
    // Request content is counted and dropped.
    void add_body(std::size_t n) { body_bytes_ += n; }

    bool headers_done() const { return headers_done_; }
    bool header_overflow() const { return header_overflow_; }
    std::uint64_t body_bytes() const { return body_bytes_; }

    // The request as the pipeline takes it: :method, :path, and :authority as Host (RFC 9113 §8.3.1).
    const http::Request& request();

    // The answer, made in exchange(); true when it has content to send (then read by next_frame/copy_content).
    bool answer();
    // No answer: the stream is reset instead.
    void abandon() { abandoned_ = true; }
    // The answer waits for a mirror's upstream transfer (no request deadline applies meanwhile).
    void set_waiting(bool waiting) { waiting_ = waiting; }
    bool answered() const { return has_response_ || abandoned_ || waiting_; }
    bool has_response() const { return has_response_; }
    http::Exchange& exchange() { return ex_; }
    // What the answer's HTTP/2 fields point into until its HEADERS frame is encoded (response_fields).
    FieldText& field_text() { return text_; }
    std::uint64_t sent() const { return sent_; }

    // How many content bytes the next DATA frame carries (at most `room`), and whether they are the last. 0 and not
    // last: a file still being written has no byte ready (see growing()).
    std::size_t next_frame(std::size_t room, bool& last) const;
    // The file a mirror is still writing, when the content is one; the offset of the next byte to send.
    const fs::GrowingFile* growing() const { return growing_; }
    std::uint64_t offset() const { return offset_; }
    // The stream waits for a growing file's next bytes (its DATA deferred until they come).
    bool waiting_for_content = false;
    // Adds to the access line's note (after what the answer said of itself).
    void add_note(std::string_view why);
    // Copies the next `n` content bytes to `to`; false when the file shrank or failed under us (said in the note).
    bool copy_content(char* to, std::size_t n);

private:
    std::int32_t id_;
    Clock::time_point start_ = Clock::now();
    std::string method_, path_, authority_;
    http::Request request_;
    std::size_t header_bytes_ = 0;
    bool header_overflow_ = false;
    bool in_trailers_ = false;
    bool headers_done_ = false;  // the request's header block is complete (END_HEADERS)
    std::uint64_t body_bytes_ = 0;
    bool has_response_ = false, abandoned_ = false, waiting_ = false;
    http::Exchange ex_;
    FieldText text_;
    std::string_view memory_;  // content still to send from memory ...
    int fd_ = -1;               // ... or from this file: [offset_, offset_ + left_)
    const fs::GrowingFile* growing_ = nullptr;  // ... which may still be growing
    std::uint64_t offset_ = 0, left_ = 0;
    std::uint64_t sent_ = 0;
};


// A response's head as HTTP/2 fields: ":status", then the fields of its HTTP/1.1 form in the same order (the reply's
// own fields, Content-Length, Date, then its pre-built blocks of lines: http::serialize_head), each name lower-cased,
// less the connection-specific ones (RFC 9113 §8.2.2). Built straight from the reply, without writing the HTTP/1.1
// head first. The fields point into `reply`, `text` and static names, and nghttp2 keeps those pointers
// (NGHTTP2_NV_FLAG_NO_COPY_NAME and _VALUE: no copy of the bytes per answer): `reply` and `text` must outlive the
// HEADERS frame's encoding, as a stream's own exchange and field text do (the stream ends after its last frame).
void response_fields(const http::Reply& reply, FieldText& text, std::vector<nghttp2_nv>& out);

// Frames being written (one batch): filled by nghttp2's send callbacks, written whole, then reused.
struct WriteBatch {
    std::unique_ptr<char[]> data;
    std::size_t size = 0, capacity = 0;
    // Room for `n` more bytes (a DATA frame's content is read straight into it); returns where they go.
    char* extend(std::size_t n);
};

}  // namespace modelhost::net
