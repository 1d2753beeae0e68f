// Beast over a plain socket (or OpenSSL over it), every socket wait bounded by poll(2).
#include "client/http_client.hpp"

#include "base/text.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <memory>
#include <poll.h>
#include <sys/socket.h>

namespace modelhost::client {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;

std::optional<HttpUrl> parse_http_url(std::string_view text) {
    auto u = boost::urls::parse_absolute_uri(text);
    if (!u || (u->scheme() != "http" && u->scheme() != "https") || !u->has_authority() || u->host().empty())
        return std::nullopt;
    HttpUrl out;
    out.tls = u->scheme() == "https";
    out.host = std::string(u->host_address());
    if (out.host.starts_with('[')) out.host = out.host.substr(1, out.host.size() - 2);
    out.port = u->has_port() ? std::string(u->port()) : out.tls ? "443" : "80";
    out.target = u->encoded_target().empty() ? "/" : std::string(u->encoded_target());
    if (!out.target.starts_with('/')) out.target = "/" + out.target;
    out.text = std::string(text);
    return out;
}

std::optional<std::string> resolve_url(const std::string& base, const std::string& ref) {
    auto b = boost::urls::parse_absolute_uri(base);
    auto r = boost::urls::parse_uri_reference(ref);
    if (!b || !r) return std::nullopt;
    boost::urls::url out;
    if (!boost::urls::resolve(*b, *r, out)) return std::nullopt;
    return std::string(out.buffer());
}

std::optional<std::string> redirect_target(const HttpResponse& r, const std::string& current) {
    auto location = r.all("Location");
    if (r.status < 300 || r.status > 399 || location.empty()) return std::nullopt;
    auto next = resolve_url(current, location[0]);
    if (!next) throw HttpError(current + ": bad Location \"" + location[0] + "\"");
    return next;
}

std::vector<std::string> HttpResponse::all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers)
        if (equals_lower(n, to_lower(name))) out.push_back(v);
    return out;
}

namespace {

// Reads the response in pieces so the overall deadline is checked between socket reads (each bounded by the
// socket's idle timeout): a server dripping one byte at a time cannot hold the client forever.
// Why a socket wait ran out: the whole exchange's deadline, or the idle time.
std::string timed_out(const HttpUrl& url, const ClientOptions& options, const char* what) {
    if (options.deadline && std::chrono::steady_clock::now() >= *options.deadline)
        return url.text + ": the time limit for the whole transfer ran out";
    return url.text + ": " + what + " for " + std::to_string(options.idle_seconds) + " s";
}

template <class Stream, class Parser>
void read_with_deadline(Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser, const HttpUrl& url,
                        const ClientOptions& options, boost::system::error_code& ec,
                        const std::function<void()>& progress = {}) {
    while (!parser.is_done()) {
        if (options.deadline && std::chrono::steady_clock::now() >= *options.deadline)
            throw TimedOut(url.text + ": the time limit for the whole transfer ran out");
        bhttp::read_some(stream, buffer, parser, ec);
        if (ec) return;
        if (progress) progress();
    }
}

template <class Fields>
HttpResponse head_of(const bhttp::response<Fields>& m) {
    HttpResponse out;
    out.status = m.result_int();
    for (const auto& f : m) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    return out;
}

// A 206 must carry exactly the bytes asked for: "bytes HAVE-LAST/TOTAL" (RFC 9110 §14.4), ending within max_bytes.
// Returns the file's size once its body is in (LAST + 1).
std::uint64_t check_content_range(const HttpResponse& r, const HttpUrl& url, const DownloadTarget& target) {
    auto ranges = r.all("Content-Range");
    std::string shown = ranges.empty() ? "none" : "\"" + ranges[0] + "\"";
    unsigned long long first = 0, last = 0;
    char total[24] = {};
    int end = 0;
    bool well_formed = ranges.size() == 1 &&
                       std::sscanf(ranges[0].c_str(), "bytes %llu-%llu/%23[0-9*]%n", &first, &last, total, &end) == 3 &&
                       static_cast<std::size_t>(end) == ranges[0].size();
    auto lengths = r.all("Content-Length");
    if (!well_formed || target.have == 0 || first != target.have || last < first || last >= target.max_bytes ||
        (lengths.size() == 1 && lengths[0] != std::to_string(last - first + 1)))
        throw HttpError(url.text + ": asked for bytes " + std::to_string(target.have) + "- and got a 206 with Content-Range " + shown);
    return last + 1;
}

// The errors a file body's writes give (the socket's are others: reset, eof, timed out).
bool local_failure(const boost::system::error_code& ec) {
    if (ec.category() != boost::system::system_category() && ec.category() != boost::system::generic_category()) return false;
    switch (ec.value()) {
        case ENOSPC: case EDQUOT: case EIO: case EROFS: case EFBIG: case EMFILE: case ENFILE: return true;
        default: return false;
    }
}

template <class Stream>
HttpResponse read_to_file(Stream& stream, boost::beast::flat_buffer& buffer, const HttpUrl& url,
                          const DownloadTarget& target, const ClientOptions& options) {
    boost::system::error_code ec;
    bhttp::response_parser<bhttp::empty_body> head;
    head.body_limit(target.max_bytes);  // Beast refuses a larger Content-Length at once
    bhttp::read_header(stream, buffer, head, ec);
    if (ec == bhttp::error::body_limit)
        throw BodyTooLarge(url.text + ": sends more than the " + std::to_string(target.max_bytes) + " bytes allowed for it");
    if (ec == boost::asio::error::timed_out) throw TimedOut(timed_out(url, options, "no answer"));
    if (ec) throw HttpError(url.text + ": no valid response: " + ec.message());
    HttpResponse out = head_of(head.get());
    if (out.status != 200 && out.status != 206) return out;  // a redirect or an error: its body is not wanted
    const bool append = out.status == 206;
    const std::uint64_t range_end = append ? check_content_range(out, url, target) : 0;
    if (target.on_head) target.on_head(out);
    bhttp::response_parser<bhttp::file_body> parser(std::move(head));  // the same message, now with a file body
    // A longer body as it arrives; a 206's (chunked, or up to the close) never past its Content-Range.
    parser.body_limit(append ? range_end - target.have : target.max_bytes);
    parser.get().body().open(target.path.c_str(), append ? boost::beast::file_mode::append_existing : boost::beast::file_mode::write, ec);
    if (ec) throw FileError(target.path + ": cannot write: " + ec.message(), ec.value());
    read_with_deadline(stream, buffer, parser, url, options, ec, target.on_progress);
    if (local_failure(ec)) throw FileError(target.path + ": cannot write: " + ec.message(), ec.value());
    const std::string not_range = url.text + ": the 206 body is not the " + std::to_string(range_end - target.have) +
                                  " bytes its Content-Range declares";
    if (append && ec == bhttp::error::body_limit) throw HttpError(not_range);
    if (ec == bhttp::error::body_limit)
        throw BodyTooLarge(url.text + ": sends more than the " + std::to_string(target.max_bytes) + " bytes allowed for it");
    if (ec == bhttp::error::partial_message || ec == boost::asio::error::eof)
        throw HttpError(url.text + ": the connection closed before the whole body arrived");
    if (ec == boost::asio::error::timed_out) throw TimedOut(timed_out(url, options, "no byte"));
    if (ec) throw HttpError(url.text + ": " + ec.message());
    if (append && parser.get().body().file().size(ec) != range_end) throw HttpError(not_range);  // shorter
    return out;
}

// One exchange over any stream (plain socket or TLS stream); with a `target`, the body goes to its file.
template <class Stream>
HttpResponse exchange(Stream& stream, const HttpUrl& url, const std::string& method, const HeaderPairs& headers,
                      bool want_body, const ClientOptions& options, const DownloadTarget* target) {
    bool default_port = url.port == (url.tls ? "443" : "80");
    bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(method), url.target, 11};
    req.set(bhttp::field::host, default_port ? url.host : url.host + ":" + url.port);
    req.set(bhttp::field::user_agent, options.user_agent);
    req.set(bhttp::field::connection, "close");
    for (const auto& [n, v] : headers) req.set(n, v);
    if (!options.credential_headers.empty() && origin_of(url.text) == options.credential_origin)
        for (const auto& [n, v] : options.credential_headers) req.set(n, v);
    boost::system::error_code ec;
    bhttp::write(stream, req, ec);
    if (ec) throw HttpError(url.text + ": cannot send the request: " + ec.message());

    boost::beast::flat_buffer buffer;
    if (target) return read_to_file(stream, buffer, url, *target, options);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    parser.skip(method == "HEAD" || method == "OPTIONS" || !want_body);
    if (!want_body) bhttp::read_header(stream, buffer, parser, ec);
    else read_with_deadline(stream, buffer, parser, url, options, ec);
    if (ec) throw HttpError(url.text + ": no valid response: " + ec.message());
    HttpResponse out = head_of(parser.get());
    if (want_body) out.body = parser.get().body();
    return out;
}

}  // namespace

namespace {

using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

// The socket with every wait bounded: a read or write that cannot go on within `idle_seconds` (or what is left of the
// deadline, when less) fails with timed_out. Asio's blocking calls would instead poll without end on EAGAIN, whatever
// SO_RCVTIMEO says. The layer under Beast and under the TLS stream.
class BoundedSocket {
public:
    using executor_type = asio::ip::tcp::socket::executor_type;
    using lowest_layer_type = asio::ip::tcp::socket::lowest_layer_type;

    BoundedSocket(asio::ip::tcp::socket& socket, const ClientOptions& options) : socket_(socket), options_(options) {}
    executor_type get_executor() { return socket_.get_executor(); }
    lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }

    template <class Buffers>
    std::size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
        return wait(POLLIN, ec) ? socket_.read_some(buffers, ec) : 0;
    }
    template <class Buffers>
    std::size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
        return wait(POLLOUT, ec) ? socket_.write_some(buffers, ec) : 0;
    }
    // The throwing forms the stream concepts ask for.
    template <class Buffers>
    std::size_t read_some(const Buffers& buffers) {
        boost::system::error_code ec;
        std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }
    template <class Buffers>
    std::size_t write_some(const Buffers& buffers) {
        boost::system::error_code ec;
        std::size_t n = write_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    // Waits until the socket is ready for `events`; false with timed_out when the time allowed passes first.
    bool wait(short events, boost::system::error_code& ec) const {
        auto allowed = std::chrono::milliseconds(std::chrono::seconds(options_.idle_seconds));
        if (options_.deadline)
            allowed = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(*options_.deadline - std::chrono::steady_clock::now()),
                                 std::chrono::milliseconds(0), allowed);
        pollfd p{socket_.native_handle(), events, 0};
        int n;
        do {
            n = ::poll(&p, 1, static_cast<int>(allowed.count()));
        } while (n < 0 && errno == EINTR);
        if (n > 0) return true;
        ec = n == 0 ? asio::error::timed_out : boost::system::error_code(errno, boost::system::system_category());
        return false;
    }

private:
    asio::ip::tcp::socket& socket_;
    const ClientOptions& options_;
};

// The first certificate of a PEM file; null when `path` is empty. Throws HttpError when it cannot be read.
Certificate read_certificate(const std::string& path) {
    if (path.empty()) return {nullptr, X509_free};
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
    Certificate cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
    if (!cert) throw HttpError(path + ": cannot read a PEM certificate from it");
    return cert;
}

// Connects to the first endpoint that answers within the wait (a non-blocking connect and poll: a blocking one would
// wait for the kernel's own timeout, minutes for an address that drops packets).
void connect_within(asio::ip::tcp::socket& socket, const asio::ip::tcp::resolver::results_type& endpoints,
                    const BoundedSocket& bounds, boost::system::error_code& ec) {
    ec = asio::error::host_not_found;
    for (const auto& e : endpoints) {
        socket.close(ec);
        socket.open(e.endpoint().protocol(), ec);
        if (ec) continue;
        socket.non_blocking(true, ec);
        socket.connect(e.endpoint(), ec);
        if (ec == asio::error::in_progress || ec == asio::error::would_block) {
            if (!bounds.wait(POLLOUT, ec)) continue;
            int error = 0;
            socklen_t length = sizeof error;
            ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &error, &length);
            ec = boost::system::error_code(error, boost::system::system_category());
        }
        if (ec) continue;
        socket.non_blocking(false, ec);
        return;
    }
}

HttpResponse connect_and_exchange(const HttpUrl& url, const std::string& method, const HeaderPairs& headers,
                                  bool want_body, const ClientOptions& options, const DownloadTarget* target) {
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    BoundedSocket bounded(socket, options);
    boost::system::error_code ec;
    auto endpoints = asio::ip::tcp::resolver(ioc).resolve(url.host, url.port, ec);
    if (!ec) connect_within(socket, endpoints, bounded, ec);
    if (ec) throw HttpError(url.text + ": cannot connect: " + ec.message());
    if (!url.tls) return exchange(bounded, url, method, headers, want_body, options, target);

    ssl::context ctx(ssl::context::tls_client);
    ctx.set_default_verify_paths(ec);
    if (!options.ca_file.empty()) {
        ctx.load_verify_file(options.ca_file, ec);
        if (ec) throw HttpError(options.ca_file + ": cannot read the CA file: " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer);
    ssl::stream<BoundedSocket&> tls(bounded, ctx);
    if (asio::ip::make_address(url.host, ec); ec)  // SNI carries names only (RFC 6066 §3)
        SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str());
    auto trusted = read_certificate(options.trusted_cert);
    tls.set_verify_callback([by_name = ssl::host_name_verification(url.host), &trusted](bool ok, ssl::verify_context& v) mutable {
        X509* peer = X509_STORE_CTX_get0_cert(v.native_handle());  // the leaf, whichever link is being checked
        if (trusted && peer && X509_cmp(peer, trusted.get()) == 0) return true;
        return by_name(ok, v);
    });
    tls.handshake(ssl::stream_base::client, ec);
    if (ec)
        throw HttpError(url.text + ": TLS handshake failed: " + ec.message() +
                        (options.ca_file.empty() ? " (a private CA? give its PEM with --ca-file, or a mirror's ca_file)" : ""));
    HttpResponse out = exchange(tls, url, method, headers, want_body, options, target);
    tls.shutdown(ec);  // peers often just close; that is fine after a complete response
    return out;
}

}  // namespace

HttpResponse http_request(const HttpUrl& url, const std::string& method, const HeaderPairs& headers, bool want_body,
                          const ClientOptions& options) {
    return connect_and_exchange(url, method, headers, want_body, options, nullptr);
}

HttpResponse http_download(const HttpUrl& url, const DownloadTarget& target, const ClientOptions& options) {
    HeaderPairs headers = target.headers;
    if (target.have > 0 && !target.if_range.empty()) {
        headers.emplace_back("Range", "bytes=" + std::to_string(target.have) + "-");
        headers.emplace_back("If-Range", target.if_range);
    }
    return connect_and_exchange(url, "GET", headers, true, options, &target);
}

NextHop next_hop(const HttpResponse& r, const std::string& current, int followed, const RedirectRule& rule) {
    auto next = redirect_target(r, current);
    if (!next) return {};
    if (followed >= rule.max_redirects)
        return {NextHop::Kind::refused, {}, current + ": more than " + std::to_string(rule.max_redirects) + " redirects"};
    if (!rule.allow_downgrade && current.starts_with("https:") && !next->starts_with("https:"))
        return {NextHop::Kind::refused, {}, current + ": redirects to " + *next + ", from https to plain http; refused"};
    if (!parse_http_url(*next)) return {NextHop::Kind::refused, {}, *next + ": not an http:// or https:// URL"};
    return {NextHop::Kind::follow, std::move(*next), {}};
}

HttpResponse follow_redirects(const std::string& url, const SendHop& send, const RedirectRule& rule, const OnHop& on_hop) {
    auto current = parse_http_url(url);
    if (!current) throw RedirectRefused(url + ": not an http:// or https:// URL");
    for (int followed = 0;; ++followed) {
        HttpResponse r = send(*current);
        if (on_hop && !on_hop(*current, r)) return r;
        NextHop step = next_hop(r, current->text, followed, rule);
        if (step.kind == NextHop::Kind::done) return r;
        if (step.kind == NextHop::Kind::refused) throw RedirectRefused(step.error);
        current = parse_http_url(step.url);  // (next_hop checked that it parses)
    }
}

HttpResponse get_following_redirects(const std::string& url, const DownloadTarget& target, const ClientOptions& options,
                                     const RedirectRule& rule) {
    return follow_redirects(url, [&](const HttpUrl& u) { return http_download(u, target, options); }, rule);
}

std::string origin_of(const std::string& url) {
    auto u = parse_http_url(url);
    return u ? (u->tls ? "https://" : "http://") + to_lower(u->host) + ":" + u->port : std::string();
}

std::optional<std::string> shard_url(const std::string& model_url, const std::string& path, bool to_any_origin) {
    auto resolved = resolve_url(model_url, path);
    if (!resolved) return std::nullopt;
    const std::string bare = resolved->substr(0, resolved->find('?'));
    const auto q = model_url.find('?');
    if (q == std::string::npos || (!to_any_origin && origin_of(bare) != origin_of(model_url))) return bare;
    return bare + model_url.substr(q);
}

std::chrono::steady_clock::time_point deadline_after(double seconds) {
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace modelhost::client
