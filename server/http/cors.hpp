// CORS (Fetch standard): a policy compiled once from config, a decision per request, applied by finalise.
#pragma once

#include "config/config.hpp"
#include "http/origin.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <string>
#include <vector>

namespace modelhost::http {

// One route's CORS policy with its header values pre-joined; never changes after load.
struct CorsPolicy {
    // Compiles every allow_origins entry; throws config::ConfigError naming the entry, its key and source.
    explicit CorsPolicy(const config::CorsConfig& cfg);

    bool wildcard = false;  // "*" without credentials: ACAO * on every response and no Vary: Origin
    bool credentials = false;
    bool varies = false;  // the answer depends on Origin, so every response carries Vary: Origin
    std::vector<OriginRule> rules;
    std::vector<std::string> methods;
    std::vector<std::string> headers_lower;  // for checking Access-Control-Request-Headers
    bool any_header = false;                 // "*" in allow_headers
    std::string allow_methods, allow_headers, expose_headers, max_age;
    // A wildcard's headers on every simple (not preflight) response, as header lines: built once, sent as they are.
    std::string wildcard_lines;
    bool private_network = false;
};

// What CORS says about one request. Computed once, in the pipeline's CORS step.
struct CorsDecision {
    enum class Verdict { none, allowed, refused_origin, refused_method, refused_header };
    Verdict verdict = Verdict::none;  // none: no Origin header and no wildcard to send
    bool preflight = false;           // OPTIONS with Origin and Access-Control-Request-Method
    std::string allow_origin;         // "*" or the request's Origin, when allowed
    std::string allow_headers;        // preflight: Access-Control-Allow-Headers to send
    bool private_network = false;     // preflight asked for, and is granted, private network access
    std::string note;                 // why it was refused, for the access log
};

CorsDecision decide_cors(const CorsPolicy& policy, const boost::beast::http::fields& request,
                         boost::beast::http::verb method);

// Sets the Access-Control-* headers and Vary tokens the decision calls for. Only finalise calls it. What is the same
// on every response (a wildcard's simple response) is returned as pre-built header lines (owned by `policy`) instead
// of set as fields; the caller sends them with the response.
std::string_view apply_cors(boost::beast::http::fields& response, const CorsPolicy& policy, const CorsDecision& decision);

}  // namespace modelhost::http
