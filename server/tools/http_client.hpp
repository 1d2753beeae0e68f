// A small blocking HTTP/1.1 client for the tools (doctor): one request per connection, every header kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelhost::tools {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct HttpUrl {
    bool tls = false;  // https
    std::string host;
    std::string port;
    std::string target;  // path and query
    std::string text;    // the URL as given, for messages
};

// http:// and https:// URLs; nullopt when malformed or another scheme.
std::optional<HttpUrl> parse_http_url(std::string_view url);

// TLS settings: the system's CA store is always trusted; `ca_file` adds a private CA (PEM); a peer presenting exactly
// the certificate in `trusted_cert` (PEM, the first one in the file) is accepted whatever its names and issuer — how
// `health` trusts the server's own tls.cert_file on loopback. Time bounds: each socket read or write waits at most
// `idle_seconds`; a whole exchange ends by `deadline` (unset: no overall bound).
struct ClientOptions {
    std::string ca_file;
    std::string trusted_cert;
    std::string user_agent = "modelhost";
    int idle_seconds = 15;
    std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Resolves `ref` (absolute, absolute-path or relative) against `base`, as a browser would.
std::optional<std::string> resolve_url(const std::string& base, const std::string& ref);

struct HttpResponse;

// For a 3xx with Location: the absolute URL to follow (throws HttpError for a Location that cannot be resolved);
// nullopt for any other response.
std::optional<std::string> redirect_target(const HttpResponse& r, const std::string& current);

struct HttpResponse {
    unsigned status = 0;
    HeaderPairs headers;  // in order, duplicates kept (a duplicated ACAO is a finding)
    std::string body;     // read only when asked for

    std::vector<std::string> all(std::string_view name) const;
};

// A network or protocol failure, with the URL in the message.
class HttpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Sends one request (Connection: close) and reads the response; the body is read (up to 64 MiB) only when
// `want_body`. HTTPS verifies the certificate chain and the host name (SNI sent). Throws HttpError.
HttpResponse http_request(const HttpUrl& url, const std::string& method, const HeaderPairs& headers, bool want_body,
                          const ClientOptions& options = {});

// GET `url` into the file `path` (streamed); returns the response with an empty body. Throws HttpError when the body
// is shorter than its Content-Length, and BodyTooLarge as soon as it would exceed `max_bytes` (at most max_bytes + 1
// bytes are read), whatever the response declares.
HttpResponse http_download(const HttpUrl& url, const std::string& path, std::uint64_t max_bytes,
                           const ClientOptions& options = {});

// The body sent more than the caller allowed: not a transient failure, never retried.
class BodyTooLarge : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace modelhost::tools
