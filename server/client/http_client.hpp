// A small blocking HTTP/1.1 client for the tools (doctor, fetch) and the mirrors: one request per connection, every
// header kept; the one redirect rule, the shard-URL query rule and the time bounds they all follow.
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
    // Headers that carry a credential (Authorization: Bearer HF_TOKEN), sent only to a URL whose origin
    // (origin_of) is `credential_origin`: never to a CDN or any other host a redirect leads to.
    HeaderPairs credential_headers;
    std::string credential_origin;
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

// A redirect chain the rule refuses (too many hops, https to http, not an http(s) URL): the answer would be the same
// next time, so it is never retried.
class RedirectRefused : public HttpError {
public:
    using HttpError::HttpError;
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

// How a chain of redirects is followed: at most `max_redirects` hops, only to http(s) URLs, and never from https to
// http (a man in the middle could then answer) unless `allow_downgrade`: doctor follows what a browser may follow,
// and judges each hop itself.
struct RedirectRule {
    int max_redirects = 10;
    bool allow_downgrade = false;
};

// What to do after one response of a chain.
struct NextHop {
    enum class Kind { done, follow, refused } kind = Kind::done;
    std::string url;    // follow: the absolute URL to ask next
    std::string error;  // refused: why, naming the URL ("https://a/m.json: more than 10 redirects")
};

// The rule, pure: given the response to `current` after `followed` redirects, the next step. Throws HttpError only for
// a Location that cannot be resolved (as redirect_target: a server's fault that may pass).
NextHop next_hop(const HttpResponse& r, const std::string& current, int followed, const RedirectRule& rule = {});

// One request of a chain, made as the caller makes it (a download into a file, a GET with Origin after a preflight).
using SendHop = std::function<HttpResponse(const HttpUrl& url)>;
// Called with each hop's URL and response before the rule is applied; returning false ends the chain there.
using OnHop = std::function<bool(const HttpUrl& url, const HttpResponse& r)>;

// Asks `url` through `send` and follows its redirects by `rule`; returns the last response. Throws RedirectRefused
// (also when `url` is not http(s)), and what `send` and next_hop throw.
HttpResponse follow_redirects(const std::string& url, const SendHop& send, const RedirectRule& rule = {},
                              const OnHop& on_hop = {});

// A GET of `url` into `target` (http_download) through follow_redirects.
HttpResponse get_following_redirects(const std::string& url, const DownloadTarget& target, const ClientOptions& options,
                                     const RedirectRule& rule = {});

// The scheme, lowercased host and port of an absolute URL ("https://a.example:443"), for same-origin decisions; ""
// when it is not an http(s) URL.
std::string origin_of(const std::string& url);

// The URL a shard of the model at `model_url` is asked at: `path` resolved against it, its own query replaced by the
// model URL's (TF.js appends it to every shard). The model's query may carry a token, so it goes only to a shard on
// the model's own origin unless `to_any_origin` (doctor does exactly what TF.js does). Nothing when `path` cannot be
// resolved.
std::optional<std::string> shard_url(const std::string& model_url, const std::string& path, bool to_any_origin = false);

// The deadline for a whole exchange of at most `seconds` (ClientOptions::deadline).
std::chrono::steady_clock::time_point deadline_after(double seconds);

}  // namespace modelhost::client
