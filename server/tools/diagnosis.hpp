// What a browser makes of one response, as `doctor` reports it: the real cause first (an error status before the
// CORS error it turns into), what the browser shows and why, and a fix worded for the server that answered.
// Pure: responses in, findings out (the requests are made in doctor.cpp).
#pragma once

#include "client/http_client.hpp"

#include <string>
#include <vector>

namespace modelhost::tools {

using namespace client;  // the HTTP client (client/http_client.hpp) the tools share with mirrors

// The server that answered, from its Server header: fixes name its own configuration.
enum class ServerKind { modelhost, nginx, other };

ServerKind server_kind(const HttpResponse& r);

// What the page does: its origin, whether it sends credentials, which non-safelisted headers it adds.
struct BrowserRequest {
    std::string origin;
    bool credentials = false;
    std::vector<std::string> headers;
};

struct Finding {
    std::string cause;    // what is wrong, in plain words ("404 Not Found: the file is missing")
    std::string browser;  // what the browser shows and why (Chromium's words); may be empty
    std::string fix;      // for the server that answered; never empty for a failure
};

// One file's result: failures fail it (exit status 1), warnings do not.
struct Verdict {
    unsigned status = 0;  // the final response's status; 0 when none arrived
    std::string server;   // its Server header
    std::vector<Finding> failures, warnings;
    bool pass() const { return failures.empty(); }
};

// The GET a page makes (`path` is the URL's path; types matter for .wasm and scripts). A 3xx is judged only for
// CORS (the browser checks every hop). Appends to `v`.
void diagnose_response(const HttpResponse& r, const std::string& path, const BrowserRequest& page, Verdict& v);

// The preflight (OPTIONS) a page's non-safelisted headers cause. Appends to `v`.
void diagnose_preflight(const HttpResponse& r, const BrowserRequest& page, Verdict& v);

// A request that got no response at all (connection, TLS, protocol).
Finding unreachable(const std::string& error);

}  // namespace modelhost::tools
