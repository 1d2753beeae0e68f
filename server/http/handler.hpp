// The request pipeline: a function from (request, immutable policy) to a finalised response.
#pragma once

#include "http/reply.hpp"

#include <boost/beast/http/string_body.hpp>

#include <memory>
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

class Handler {
public:
    explicit Handler(const config::Config& cfg);  // throws config::ConfigError / std::system_error
    ~Handler();

    // Steps 2-11 of the pipeline for a complete, parsed request.
    Exchange handle(const Request& req, const ConnectionFacts& conn) const;

    // A request that could not be read (400, 408, 413, 431) or a refused connection (503); always closes.
    Exchange reject(bhttp::status status, const Request& partial, const std::string& note) const;

private:
    std::unique_ptr<const Policy> policy_;
};

}  // namespace modelhost::http
