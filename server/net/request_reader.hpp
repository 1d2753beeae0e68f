// Reads one HTTP/1.1 request from a connection's buffered bytes, with no I/O, so the session and the fuzzer run the
// same code: Beast's parser with the configured limits, plus what Beast does not enforce — obs-fold refused, the
// framing screened by the handler before any body byte is read, chunk-size lines, extensions and trailers counted
// against max_header_bytes, chunk data counted and dropped, and no more than max_header_bytes waiting for a line end.
#pragma once

#include "http/handler.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace modelhost::config {
struct LimitsConfig;
}

namespace modelhost::net {

class RequestReader {
public:
    enum class Step {
        need_more,  // read more bytes into the buffer, then feed again
        complete,   // request() is whole
        refused,    // the handler refused the header (take_refusal()); the connection ends after it
        failed,     // failure() says why; the handler decides the answer
    };

    explicit RequestReader(const config::LimitsConfig& limits) : limits_(limits) {}

    // A new request begins (the previous one, if any, is dropped).
    void start();
    // Parses what `buffer` holds, consuming what it used.
    Step feed(boost::beast::flat_buffer& buffer, const http::Handler& handler);

    bool started() const { return parser_.has_value(); }
    bool in_body() const { return in_body_; }
    const http::Request& request() const;
    http::Exchange take_refusal() { return std::move(*refusal_); }
    http::ReadFailure failure() const { return failure_; }
    const std::string& detail() const { return detail_; }
    // Drops the parser and its buffers (a lingering connection holds no request state).
    void reset();

private:
    Step fail(http::ReadFailure why, std::string detail);

    const config::LimitsConfig& limits_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    bool in_body_ = false;
    std::uint64_t chunk_data_ = 0;     // chunk-data bytes of this request (counted, then dropped)
    std::uint64_t framing_bytes_ = 0;  // chunk-size lines, extensions and trailers of this request
    // The parser's chunk-data callback (it keeps a reference, so the callable lives here).
    struct ChunkCounter {
        std::uint64_t* total;
        std::size_t operator()(std::uint64_t, std::string_view data, boost::beast::error_code&) const {
            *total += data.size();
            return data.size();
        }
    } count_chunk_data_{&chunk_data_};
    std::optional<http::Exchange> refusal_;
    http::ReadFailure failure_ = http::ReadFailure::gone;
    std::string detail_;
};

}  // namespace modelhost::net
