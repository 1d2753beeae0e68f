#include "net/tls_socket.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <climits>

namespace modelhost::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t recv_size = 16 * 1024 + 512;  // one TLS record and some
constexpr std::size_t out_reserve = 256 * 1024;     // a write batch of records, kept between sends
constexpr std::size_t max_unsent = 1 << 20;         // records not yet taken by the kernel (a batch is ~130 KiB)

// The write BIO: OpenSSL's records are appended to the connection's Output, which send() writes to the socket.
int bio_write(BIO* bio, const char* data, int len) {
    auto* out = static_cast<TlsSocket::Output*>(BIO_get_data(bio));
    out->bytes.insert(out->bytes.end(), data, data + len);
    return len;
}

long bio_ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered in the BIO itself
}

BIO_METHOD* output_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "modelhost output");
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return m;
    }();
    return method;
}

}  // namespace

TlsSocket::TlsSocket(asio::ip::tcp::socket socket, asio::ssl::context& context)
    : socket_(std::move(socket)), ssl_(SSL_new(context.native_handle())), out_(std::make_unique<Output>()) {
    if (!ssl_) throw std::bad_alloc();
    in_ = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(output_method());
    if (!in_ || !out) throw std::bad_alloc();
    BIO_set_mem_eof_return(in_, -1);  // an empty input BIO means "wait for more", not end of stream
    BIO_set_data(out, out_.get());
    SSL_set_bio(ssl_, in_, out);  // the SSL owns both BIOs
    SSL_set_accept_state(ssl_);
    out_->bytes.reserve(out_reserve);
    error_code ec;
    socket_.non_blocking(true, ec);  // send() writes directly and waits for writability only when the kernel is full
}

TlsSocket::TlsSocket(TlsSocket&& other) noexcept
    : socket_(std::move(other.socket_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      in_(std::exchange(other.in_, nullptr)),
      out_(std::move(other.out_)),
      recv_(std::move(other.recv_)) {}

TlsSocket::~TlsSocket() {
    if (ssl_) SSL_free(ssl_);
}

error_code TlsSocket::ssl_error(int result) {
    int why = SSL_get_error(ssl_, result);
    if (why == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return asio::ssl::error::stream_truncated;
    return error_code(static_cast<int>(e), asio::error::get_ssl_category());
}

// Handshake: OpenSSL's flights go out before each wait for the client's next bytes.
void TlsSocket::handshake(Done done) { continue_handshake(std::move(done)); }

void TlsSocket::continue_handshake(Done done) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return send({}, 0, std::move(done));  // the last flight (and TLS 1.3 tickets) then done
    if (SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_READ) {
        error_code failed = ssl_error(rc), unsent;
        send_now(unsent);  // the alert OpenSSL wrote, so the client learns why (best effort)
        return send(failed, 0, std::move(done));
    }
    send({}, 0, [this, done = std::move(done)](error_code ec, std::size_t) mutable {
        if (ec) return done(ec, 0);
        if (!recv_) recv_ = std::make_unique_for_overwrite<char[]>(recv_size);
        socket_.async_read_some(asio::buffer(recv_.get(), recv_size),
                                [this, done = std::move(done)](error_code e, std::size_t n) mutable {
                                    if (e) return done(e, 0);
                                    BIO_write(in_, recv_.get(), static_cast<int>(n));
                                    continue_handshake(std::move(done));
                                });
    });
}

// Plaintext already decrypted or decryptable from buffered bytes; false when the socket must be read first.
bool TlsSocket::try_read(asio::mutable_buffer into, error_code& ec, std::size_t& n) {
    // (OpenSSL's error queue is empty here: ssl_error() empties it after every failure, so SSL_get_error is exact.)
    int want = static_cast<int>(std::min<std::size_t>(into.size(), INT_MAX));
    int rc = SSL_read(ssl_, into.data(), want);
    if (rc > 0) {
        n = static_cast<std::size_t>(rc);
        return true;
    }
    if (SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_READ) return false;
    ec = ssl_error(rc);
    n = 0;
    return true;
}

// try_read, then the records OpenSSL wrote while reading (a TLS 1.3 KeyUpdate answer): sent at once unless a write is
// sending already (it sends them too, in order). A client that makes them faster than it reads them is cut off at
// max_unsent instead of growing the output without bound.
bool TlsSocket::read_buffered(asio::mutable_buffer into, error_code& ec, std::size_t& n) {
    const bool ready = try_read(into, ec, n);
    auto& out = *out_;
    if (!ec && !sending_ && out.sent < out.bytes.size()) send_now(ec);
    if (!ec && out.bytes.size() - out.sent > max_unsent) ec = asio::error::no_buffer_space;
    if (ec) n = 0;
    return ready || ec;
}

void TlsSocket::read(asio::mutable_buffer into, Done done) {
    error_code ec;
    std::size_t n = 0;
    if (read_buffered(into, ec, n))
        return asio::post(socket_.get_executor(), [done = std::move(done), ec, n] { done(ec, n); });
    if (!recv_) recv_ = std::make_unique_for_overwrite<char[]>(recv_size);
    // Asio's own read: after a read that drained the socket it does not try again before epoll reports bytes (no
    // failed recv per request), and it needs no epoll_ctl per wait (async_wait re-arms the descriptor every time).
    socket_.async_read_some(asio::buffer(recv_.get(), recv_size), [this, into, done = std::move(done)](error_code e, std::size_t got) mutable {
        if (e) return done(e, 0);
        BIO_write(in_, recv_.get(), static_cast<int>(got));
        error_code ec2;
        std::size_t n2 = 0;
        if (read_buffered(into, ec2, n2)) return done(ec2, n2);
        read(into, std::move(done));  // a partial record: read more
    });
}

bool TlsSocket::encrypt(asio::const_buffer plain, error_code& ec) {
    if (plain.size() == 0) return true;
    // The output BIO always accepts: SSL_write takes everything (as many records as it needs) at once.
    int rc = SSL_write(ssl_, plain.data(), static_cast<int>(std::min<std::size_t>(plain.size(), INT_MAX)));
    if (rc > 0 && static_cast<std::size_t>(rc) == plain.size()) return true;
    ec = rc > 0 ? asio::error::fault : ssl_error(rc);
    return false;
}

// Sends the records waiting in the output until they are all out (true), the kernel is full (false), or a send fails
// (true, `ec` set).
bool TlsSocket::send_now(error_code& ec) {
    auto& out = *out_;
    while (!ec && out.sent < out.bytes.size()) {
        error_code e;
        out.sent += socket_.send(asio::buffer(out.bytes.data() + out.sent, out.bytes.size() - out.sent), 0, e);
        if (e == asio::error::would_block) return false;
        ec = e;
    }
    if (out.sent == out.bytes.size()) out.bytes.clear(), out.sent = 0;
    return true;
}

// Sends the records waiting in the output (waiting for writability in between), then reports `plain` bytes written.
// Never completes inside the initiating call.
void TlsSocket::send(error_code ec, std::size_t plain, Done done) {
    if (ec || send_now(ec))
        return asio::post(socket_.get_executor(), [done = std::move(done), ec, plain] { done(ec, plain); });
    wait_writable(plain, std::move(done));
}

void TlsSocket::wait_writable(std::size_t plain, Done done) {
    sending_ = true;
    socket_.async_wait(asio::ip::tcp::socket::wait_write, [this, plain, done = std::move(done)](error_code ec) mutable {
        if (ec || send_now(ec)) {
            sending_ = false;
            return done(ec, plain);
        }
        wait_writable(plain, std::move(done));
    });
}

}  // namespace modelhost::net
