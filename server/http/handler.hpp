// The request pipeline: a function from (request, immutable policy) to a finalised response.
#pragma once

#include "http/reply.hpp"

#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>
#include <string>

namespace modelhost::config {
struct Config;
}

namespace modelhost::http {

using Request = bhttp::request<bhttp::string_body>;

// Facts about the connection that bear on the response (never decided by the connection itself).
struct ConnectionFacts {
    bool may_keep_alive = true;  // false while draining or at the per-connection request limit
    bool draining = false;       // the server is shutting down (readiness fails)
};

// What the access log needs that only the handler knows; the session adds bytes and time.
struct LogFacts {
    std::string method;
    std::string target;
    std::string origin;
    std::string note;  // why a request was refused (CORS, bad target, limits)
};

// A response ready to send, with its log facts.
struct Exchange {
    Reply reply;
    LogFacts log;
};

struct Policy;  // compiled from Config once; defined in policy.hpp

// Why a request could not be read to its end, as the connection saw it; the handler decides what answers it.
enum class ReadFailure {
    gone,            // the peer closed or reset, or the socket failed: nobody to answer
    timeout,         // the request's deadline passed (limits.header_timeout) or the idle time ran out
    header_limit,    // request line and fields over limits.max_header_bytes
    framing_limit,   // chunk-size lines, extensions and trailers over limits.max_header_bytes
    body_limit,      // content over limits.max_body_bytes
    malformed,       // bytes that are not HTTP/1.1 (RFC 9112 syntax)
};

class Handler {
public:
    explicit Handler(const config::Config& cfg);  // throws config::ConfigError / std::system_error
    ~Handler();

    // Steps 2-11 of the pipeline for a complete, parsed request.
    Exchange handle(const Request& req, const ConnectionFacts& conn) const;

    // A request whose header is complete but whose framing or Host is refused (400/501, RFC 9112 §3.2, §6), or
    // nothing when its body may be read. Checked before any body byte is read.
    std::optional<Exchange> screen(const Request& header) const;

    // The answer to a request that could not be read (400, 408, 413, 431), or nothing when the connection should
    // just close (the peer is gone, or no request had started). `started`: some of a request had arrived.
    std::optional<Exchange> read_failed(ReadFailure why, bool started, const Request& partial, const std::string& detail) const;

    // A refused connection (503, the connection limit); always closes.
    Exchange refuse_connection() const;

private:
    // An error status for a request that ends its connection.
    Exchange reject(bhttp::status status, const Request& partial, const std::string& note) const;

    std::unique_ptr<const Policy> policy_;
};

}  // namespace modelhost::http
