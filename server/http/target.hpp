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
    // "/" + the decoded segments joined by '/', plus '/' when the target ended in one. A segment is never ".", "..",
    // empty, or holding '/', '\', NUL or controls.
    std::string path;
    const char* reason = "";  // why it was refused, for the access log

    // The decoded segments (views into `path`).
    std::vector<std::string_view> segments() const;
    // The last segment ("" for "/"), whose extension names the type.
    std::string_view last_segment() const;
};

// The longest request-target accepted (414 beyond).
inline constexpr std::size_t max_target_length = 8192;

// Parses an origin-form ("/a/b?q"), absolute-form ("http://h/a/b") or asterisk-form ("*") request-target.
Target parse_target(std::string_view raw);
// The same into `out`, reusing its storage (the server keeps one per thread: no allocation per request).
void parse_target(std::string_view raw, Target& out);

}  // namespace modelhost::http
