// A small blocking HTTP/1.1 client for the tools (doctor, fetch): one request per connection, every header kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelhost::client {

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

// Where a GET's body goes, and what an earlier attempt already kept there.
struct DownloadTarget {
    std::string path;            // the file the body is written to
    std::uint64_t max_bytes = 0; // the most the whole file may hold
    std::uint64_t have = 0;      // bytes of `path` kept from an earlier attempt
    std::string if_range;        // their validator (a strong ETag or a Last-Modified date); empty: start over
    // Called with the status and headers before any byte of a 200 or 206 body is written (to keep the validator).
    std::function<void(const HttpResponse&)> on_head{};
    HeaderPairs headers{};  // sent besides Range/If-Range (If-None-Match, If-Modified-Since for a revalidation)
    std::function<void()> on_progress{};  // called after each read that wrote body bytes to the file
};

// GET `url` into `target.path` (streamed). With `have` bytes and a validator, asks for the rest (Range + If-Range,
// RFC 9110 §14.2, §13.1.5): a 206 starting exactly at `have` is appended, a 200 (the file changed, or the server
// ignores ranges) replaces the file. Only 200 and 206
// bodies are written; any other response returns with its headers and the file untouched. Throws HttpError when the
// body is shorter than its Content-Length or the Content-Range is not the one asked for, and BodyTooLarge as soon as
// the file would exceed `max_bytes` (at most max_bytes + 1 bytes are written), whatever the response declares, and
// FileError when the file cannot be opened or written.
HttpResponse http_download(const HttpUrl& url, const DownloadTarget& target, const ClientOptions& options = {});

// The body could not be written to the download's file (a full disk, an I/O error, a read-only file system, no
// descriptor left): a local failure, not the peer's, so never retried. `error` is the errno.
class FileError : public std::runtime_error {
public:
    FileError(const std::string& what, int code) : std::runtime_error(what), error(code) {}
    int error;
};

// The peer was too slow: a socket wait or the whole exchange's deadline ran out.
class TimedOut : public HttpError {
public:
    using HttpError::HttpError;
};

// The body sent more than the caller allowed: not a transient failure, never retried.
class BodyTooLarge : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace modelhost::client
