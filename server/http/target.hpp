// Request-target normalisation: one parse, one percent-decode, no escape from the root.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modelhost::http {

// The decoded, normalised path of a request, or the status that refuses it.
struct Target {
    enum class Verdict { ok, asterisk, bad_request, not_found, too_long };
    Verdict verdict = Verdict::bad_request;
    std::vector<std::string> segments;  // decoded; never ".", "..", empty, or holding '/', '\', NUL, controls
    std::string path;                   // "/" + segments joined by '/', plus '/' when the target ended in one
    const char* reason = "";            // why it was refused, for the access log
};

// The longest request-target accepted (414 beyond).
inline constexpr std::size_t max_target_length = 8192;

// Parses an origin-form ("/a/b?q"), absolute-form ("http://h/a/b") or asterisk-form ("*") request-target.
Target parse_target(std::string_view raw);

}  // namespace modelhost::http
