// The messages every layer passes around: the request, the response with its log facts, and the facts the
// connection reports. The bottom floor of http/: it includes only reply.hpp.
#pragma once

#include "http/reply.hpp"

#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <string>

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
    unsigned method_index = 3;   // for metrics: 0 GET, 1 HEAD, 2 OPTIONS, 3 other
    std::size_t route_index = 0;  // for metrics: 0 the top level, i + 1 routes[i]
    // Set instead of a reply when the answer waits for a mirror's upstream transfer (Handler::handle with
    // `may_wait`): call it with a function it runs once, on another thread, when the transfer is over; then ask
    // handle() again without `may_wait` for the answer.
    std::function<void(std::function<void()>)> wait{};
};

// Why a request could not be read to its end, as the connection saw it; the handler decides what answers it.
enum class ReadFailure {
    gone,            // the peer closed or reset, or the socket failed: nobody to answer
    timeout,         // the request's deadline passed (limits.header_timeout) or the idle time ran out
    header_limit,    // request line and fields over limits.max_header_bytes
    framing_limit,   // chunk-size lines, extensions and trailers over limits.max_header_bytes
    body_limit,      // content over limits.max_body_bytes
    malformed,       // bytes that are not HTTP/1.1 (RFC 9112 syntax)
};

// A short text/plain body for an error status ("404 Not Found\n").
Reply error_reply(bhttp::status status, unsigned version);

}  // namespace modelhost::http
