// One request's parse steps; see request_reader.hpp for the rules beyond Beast's.
#include "net/request_reader.hpp"

#include "config/config.hpp"
#include "http/framing.hpp"

namespace modelhost::net {

namespace bhttp = boost::beast::http;

namespace {

// What a failed parse means for the request; the handler decides what answers it.
http::ReadFailure classify(boost::beast::error_code ec) {
    if (ec == bhttp::error::header_limit) return http::ReadFailure::header_limit;
    if (ec == bhttp::error::body_limit) return http::ReadFailure::body_limit;
    return http::ReadFailure::malformed;
}

}  // namespace

void RequestReader::start() {
    in_body_ = false;
    chunk_data_ = framing_bytes_ = 0;
    refusal_.reset();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    parser_->eager(false);  // stop after the header, to screen its framing before any body byte is read
    parser_->on_chunk_body(count_chunk_data_);
}

void RequestReader::reset() {
    parser_.reset();
    refusal_.reset();
}

const http::Request& RequestReader::request() const {
    static const http::Request none;
    return parser_ ? parser_->get() : none;
}

RequestReader::Step RequestReader::fail(http::ReadFailure why, std::string detail) {
    failure_ = why;
    detail_ = std::move(detail);
    return Step::failed;
}

RequestReader::Step RequestReader::feed(boost::beast::flat_buffer& buffer, const http::Handler& handler) {
    while (buffer.size() > 0) {
        boost::beast::error_code ec;
        const auto data_before = chunk_data_;
        const std::size_t used = parser_->put(buffer.data(), ec);
        if (!in_body_ && http::has_obs_fold({static_cast<const char*>(buffer.data().data()), used}))
            return fail(http::ReadFailure::malformed, "obs-fold (a header field folded over lines)");
        buffer.consume(used);
        if (in_body_ && parser_->chunked()) framing_bytes_ += used - (chunk_data_ - data_before);
        if (ec && ec != bhttp::error::need_more) return fail(classify(ec), ec.message());
        if (!in_body_ && parser_->is_header_done()) {
            if ((refusal_ = handler.screen(parser_->get()))) return Step::refused;
            in_body_ = true;
            parser_->eager(true);
        }
        if (framing_bytes_ > limits_.max_header_bytes) return fail(http::ReadFailure::framing_limit, {});
        if (parser_->is_done()) return Step::complete;
        if (ec == bhttp::error::need_more || used == 0) break;
    }
    // A line end must come within max_header_bytes: the buffer never holds more than that plus one read.
    if (buffer.size() >= limits_.max_header_bytes)
        return fail(in_body_ ? http::ReadFailure::framing_limit : http::ReadFailure::header_limit, {});
    return Step::need_more;
}

}  // namespace modelhost::net
