#include "net/http2_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <unistd.h>

namespace modelhost::net {

namespace {

// RFC 9113 §8.2.2: fields that only mean something to one HTTP/1.1 connection are never sent over HTTP/2.
bool connection_specific(std::string_view lower_name) {
    return lower_name == "connection" || lower_name == "keep-alive" || lower_name == "transfer-encoding" ||
           lower_name == "upgrade" || lower_name == "proxy-connection";
}

nghttp2_nv field(std::string_view name, std::string_view value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
            NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

void Http2Stream::add_field(std::string_view name, std::string_view value, std::size_t max_header_bytes) {
    header_bytes_ += name.size() + value.size() + 32;
    if (header_bytes_ > max_header_bytes) header_overflow_ = true;
    if (header_overflow_ || in_trailers_) return;
    if (name == ":method") method_ = value;
    else if (name == ":path") path_ = value;
    else if (name == ":authority") authority_ = value;
    else if (!name.starts_with(':')) request_.insert(name, value);
}

const http::Request& Http2Stream::request() {
    request_.method_string(method_);
    request_.target(path_);
    request_.version(11);
    if (!authority_.empty()) request_.set(boost::beast::http::field::host, authority_);
    return request_;
}

bool Http2Stream::answer(http::Exchange ex) {
    has_response_ = true;
    ex_ = std::move(ex);
    const auto& body = ex_.reply.body();
    const bool has_content = !body.omitted && body.declared_size() > 0;
    if (has_content && body.file && !body.blob) {
        fd_ = body.file->fd();
        offset_ = body.offset;
        left_ = body.length;
        growing_ = body.growing.get();
    } else if (has_content) {
        memory_ = body.in_memory();
    }
    return has_content;
}

std::size_t Http2Stream::next_frame(std::size_t room, bool& last) const {
    const std::uint64_t left = fd_ < 0 ? memory_.size() : left_;
    std::uint64_t ready = left;
    if (growing_) ready = growing_->available() - std::min(growing_->available(), offset_);
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>({room, left, ready, max_data_frame}));
    last = n == left;
    return n;
}

bool Http2Stream::copy_content(char* to, std::size_t n) {
    if (fd_ < 0) {
        std::memcpy(to, memory_.data(), n);
        memory_.remove_prefix(n);
    } else {
        for (std::size_t got = 0; got < n;) {
            ssize_t r = ::pread(fd_, to + got, n - got, static_cast<off_t>(offset_ + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
            got += static_cast<std::size_t>(r);
        }
        offset_ += n;
        left_ -= n;
    }
    sent_ += n;
    return true;
}

void response_fields(const http::Reply& reply, std::string& head, std::array<char, 4>& status,
                     std::vector<nghttp2_nv>& out) {
    http::serialize_head(reply, head);
    auto [end, ec] = std::to_chars(status.data(), status.data() + status.size(), reply.result_int());
    out.clear();
    out.push_back(field(":status", {status.data(), static_cast<std::size_t>(end - status.data())}));
    std::size_t at = head.find("\r\n") + 2;  // after the status line
    while (at < head.size()) {
        std::size_t eol = head.find("\r\n", at);
        if (eol == std::string::npos || eol == at) break;  // the blank line ends the head
        std::size_t colon = head.find(':', at);
        if (colon != std::string::npos && colon < eol) {
            std::transform(head.begin() + static_cast<std::ptrdiff_t>(at), head.begin() + static_cast<std::ptrdiff_t>(colon),
                           head.begin() + static_cast<std::ptrdiff_t>(at),
                           [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
            std::string_view name(head.data() + at, colon - at);
            std::size_t value_at = head.find_first_not_of(' ', colon + 1);
            std::string_view value(head.data() + value_at, eol - value_at);
            if (!connection_specific(name)) out.push_back(field(name, value));
        }
        at = eol + 2;
    }
}

char* WriteBatch::extend(std::size_t n) {
    if (size + n > capacity) {
        // A batch plus one frame fits without growing; a larger frame (large configured headers) grows it once.
        std::size_t next = std::max(size + n, 2 * capacity + 64 * 1024);
        auto bigger = std::make_unique_for_overwrite<char[]>(next);
        if (size) std::memcpy(bigger.get(), data.get(), size);
        data = std::move(bigger);
        capacity = next;
    }
    char* at = data.get() + size;
    size += n;
    return at;
}

}  // namespace modelhost::net
