// What remains to send of one response: its serialised head, then its content from memory, from file chunks, or
// as a file span for sendfile(2). The session does the socket I/O; this keeps the account.
#pragma once

#include "http/reply.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace modelhost::net {

class Outgoing {
public:
    // Starts sending `reply` (which must outlive the sending); a file span of at least `sendfile_min` bytes is left
    // to sendfile(2) when `sendfile_allowed`.
    void start(const http::Reply& reply, bool sendfile_allowed, std::uint64_t sendfile_min);

    // The next bytes to write: the rest of the head, then content (reading the next file chunk when needed).
    // Both buffers empty: all is out, or only the sendfile span is left. False with `ec` when a file read fails
    // or finds the file shorter than promised.
    bool next(std::array<boost::asio::const_buffer, 2>& out, boost::system::error_code& ec);
    // Accounts `n` bytes of what next() returned as written.
    void advance(std::size_t n);

    // The content is a file still being written and the bytes next to send are not there yet: next() gave only what
    // head was left; call when_more and send again once it calls back.
    bool waiting_for_content() const { return waiting_; }
    void when_more(std::function<void()> ready) const { growing_->when_beyond(file_offset_, std::move(ready)); }

    bool by_sendfile() const { return sendfile_; }
    bool head_done() const { return head_sent_ == head_.size(); }
    // The sendfile span: descriptor, next offset, bytes left; sent(n) accounts `n` of them.
    int file_fd() const { return fd_; }
    std::uint64_t file_offset() const { return file_offset_; }
    std::uint64_t file_left() const { return file_left_; }
    void sent(std::uint64_t n);

    std::uint64_t content_sent() const { return content_sent_; }
    // The response is over: drops the chunk buffer (idle connections hold no file bytes).
    void finish() { chunk_.reset(); }

private:
    bool fill_chunk(boost::system::error_code& ec);

    static constexpr std::size_t chunk_size = 64 * 1024;

    std::string head_;  // capacity reused across responses
    std::size_t head_sent_ = 0;
    std::string_view memory_;  // in-memory content not yet sent
    bool file_ = false;        // the content is a span of an open file
    bool sendfile_ = false;    // ... sent by sendfile(2) once the head is out
    int fd_ = -1;
    const fs::GrowingFile* growing_ = nullptr;  // the reply's, when its file is still being written
    bool waiting_ = false;                      // next() found none of its next bytes there yet
    std::uint64_t file_offset_ = 0;  // next file byte to read or send
    std::uint64_t file_left_ = 0;    // file bytes not yet read (chunks) or sent (sendfile)
    std::unique_ptr<char[]> chunk_;  // file bytes read but not yet sent: [chunk_begin_, chunk_end_)
    std::size_t chunk_begin_ = 0, chunk_end_ = 0;
    std::uint64_t content_sent_ = 0;
};

}  // namespace modelhost::net
