#include "net/outgoing.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace modelhost::net {

void Outgoing::start(const http::Reply& reply, bool sendfile_allowed, std::uint64_t sendfile_min) {
    http::serialize_head(reply, head_);
    head_sent_ = 0;
    content_sent_ = 0;
    const auto& body = reply.body();
    memory_ = body.omitted ? std::string_view{} : body.in_memory();
    file_ = !body.omitted && body.file && body.length > 0;
    growing_ = file_ ? body.growing.get() : nullptr;
    sendfile_ = sendfile_allowed && file_ && !growing_ && body.length >= sendfile_min;
    fd_ = file_ ? body.file->fd() : -1;
    file_offset_ = body.offset;
    file_left_ = file_ ? body.length : 0;
    chunk_begin_ = chunk_end_ = 0;
}

bool Outgoing::fill_chunk(boost::system::error_code& ec) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(file_left_, chunk_size));
    if (growing_) {  // what is there goes out, even from a transfer that failed since
        const std::uint64_t available = growing_->available();
        want = static_cast<std::size_t>(std::min<std::uint64_t>(want, available - std::min(available, file_offset_)));
        if (want == 0 && growing_->failed()) {  // the rest will never come: the caller ends the connection
            ec = boost::system::error_code(EIO, boost::system::generic_category());
            return false;
        }
        if (want == 0) {  // not there yet: the caller waits (when_more) and asks again
            waiting_ = true;
            return true;
        }
    }
    if (!chunk_) chunk_ = std::make_unique_for_overwrite<char[]>(chunk_size);
    ssize_t got;
    do {
        got = ::pread(fd_, chunk_.get(), want, static_cast<off_t>(file_offset_));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
        // The file shrank or failed under us: the caller ends the connection rather than send bytes it lacks.
        ec = boost::system::error_code(got < 0 ? errno : EIO, boost::system::generic_category());
        return false;
    }
    chunk_begin_ = 0;
    chunk_end_ = static_cast<std::size_t>(got);
    file_offset_ += static_cast<std::uint64_t>(got);
    file_left_ -= static_cast<std::uint64_t>(got);
    return true;
}

bool Outgoing::next(std::array<boost::asio::const_buffer, 2>& out, boost::system::error_code& ec) {
    waiting_ = false;
    if (file_ && !sendfile_ && chunk_begin_ == chunk_end_ && file_left_ > 0 && !fill_chunk(ec)) {
        if (head_done()) return false;
        ec = {};  // the head goes out first (the response is then cut short); the failure is met again next call
    }
    std::string_view content = sendfile_ ? std::string_view{}
                               : file_   ? std::string_view(chunk_.get() + chunk_begin_, chunk_end_ - chunk_begin_)
                                         : memory_;
    out = {boost::asio::buffer(head_.data() + head_sent_, head_.size() - head_sent_),
           boost::asio::buffer(content.data(), content.size())};
    return true;
}

void Outgoing::advance(std::size_t n) {
    std::size_t from_head = std::min(n, head_.size() - head_sent_);
    head_sent_ += from_head;
    n -= from_head;
    content_sent_ += n;
    if (!memory_.empty()) memory_.remove_prefix(n);
    else chunk_begin_ += n;
}

void Outgoing::sent(std::uint64_t n) {
    file_offset_ += n;
    file_left_ -= n;
    content_sent_ += n;
}

}  // namespace modelhost::net
