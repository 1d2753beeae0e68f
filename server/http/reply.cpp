// Chunked file streaming for ReplyBody.
#include "http/reply.hpp"

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <unistd.h>

namespace modelhost::http {

boost::optional<std::pair<ReplyBody::writer::const_buffers_type, bool>> ReplyBody::writer::get(beast::error_code& ec) {
    ec = {};
    if (body_.omitted) return boost::none;
    if (body_.blob) {
        if (sent_ != 0 || body_.length == 0) return boost::none;
        sent_ = body_.length;
        return {{boost::asio::const_buffer(body_.blob->data() + body_.offset, static_cast<std::size_t>(body_.length)), false}};
    }
    if (!body_.file) {
        if (sent_ != 0 || body_.text.empty()) return boost::none;
        sent_ = body_.text.size();
        return {{boost::asio::buffer(body_.text), false}};
    }
    std::uint64_t remain = body_.length - sent_;
    if (remain == 0) return boost::none;
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remain, chunk_size));
    if (!chunk_) {
        chunk_capacity_ = want;  // a small file needs no 64 KiB buffer, and none needs zeroing
        chunk_ = std::make_unique_for_overwrite<char[]>(chunk_capacity_);
    }
    want = std::min(want, chunk_capacity_);
    ssize_t got;
    do {
        got = ::pread(body_.file->fd(), chunk_.get(), want, static_cast<off_t>(body_.offset + sent_));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
        // The file shrank or failed under us: end the connection rather than send bytes it does not have.
        ec = got < 0 ? beast::error_code(errno, boost::system::generic_category())
                     : beast::error_code(EIO, boost::system::generic_category());
        return boost::none;
    }
    sent_ += static_cast<std::uint64_t>(got);
    return {{boost::asio::const_buffer(chunk_.get(), static_cast<std::size_t>(got)), sent_ < body_.length}};
}

}  // namespace modelhost::http
