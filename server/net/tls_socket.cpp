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
#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace modelhost::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t max_unsent = 1 << 20;         // records not yet taken by the kernel (a batch is ~130 KiB)

// The connection's BIO, for both directions: OpenSSL's records are appended to the Wire's output, which send_now()
// writes to the socket (a response of one record goes to the socket from OpenSSL's own buffer when nothing waits
// before it: Wire::direct), and OpenSSL reads the client's bytes from the Wire's input, filled by one socket read at
// a time (no copy into a memory BIO first).
int bio_write(BIO* bio, const char* data, int len) {
    auto* wire = static_cast<TlsSocket::Wire*>(BIO_get_data(bio));
    std::size_t taken = 0;
    const auto size = static_cast<std::size_t>(std::max(len, 0));
    if (wire->direct && wire->sent == wire->out.size() && !wire->send_error) {
        ssize_t n;
        do {
            n = ::send(wire->fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n >= 0) taken = static_cast<std::size_t>(n);
        else if (errno != EAGAIN && errno != EWOULDBLOCK) wire->send_error = error_code(errno, boost::system::system_category());
        if (wire->send_error) return len;  // the write reports the failure; the connection ends
    }
    wire->out.insert(wire->out.end(), data + taken, data + size);
    return len;
}

int bio_read(BIO* bio, char* to, int len) {
    auto* wire = static_cast<TlsSocket::Wire*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    const std::size_t have = wire->in_end - wire->in_begin;
    if (have == 0) {
        BIO_set_retry_read(bio);  // "wait for more", not end of stream
        return -1;
    }
    const std::size_t n = std::min(have, static_cast<std::size_t>(std::max(len, 0)));
    std::memcpy(to, wire->in.get() + wire->in_begin, n);
    wire->in_begin += n;
    return static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
    if (cmd == BIO_CTRL_FLUSH) return 1;  // nothing is buffered in the BIO itself
    if (cmd == BIO_CTRL_PENDING) {
        auto* wire = static_cast<TlsSocket::Wire*>(BIO_get_data(bio));
        return static_cast<long>(wire->in_end - wire->in_begin);
    }
    return 0;
}

BIO_METHOD* wire_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "modelhost wire");
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
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
    : socket_(std::move(socket)), ssl_(SSL_new(context.native_handle())) {
    if (!ssl_) throw std::bad_alloc();
    BIO* bio = BIO_new(wire_method());
    if (!bio) throw std::bad_alloc();
    BIO_set_data(bio, &wire_);
    wire_.fd = socket_.native_handle();
    SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL owns it
    SSL_set_accept_state(ssl_);
    error_code ec;
    socket_.non_blocking(true, ec);  // send_now() writes directly and waits for writability only when the kernel is full
}

TlsSocket::TlsSocket(TlsSocket&& other) noexcept
    : socket_(std::move(other.socket_)), ssl_(std::exchange(other.ssl_, nullptr)), wire_(std::move(other.wire_)) {
    if (ssl_) BIO_set_data(SSL_get_rbio(ssl_), &wire_);  // one BIO both ways
}

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

// Room for the next socket read, after the bytes OpenSSL has not taken yet (normally none: it asked for more because it
// took them all).
// A connection back from idling reads into a small buffer; one with more to come (a partial record, a read that
// filled the buffer) into a whole record's room.
asio::mutable_buffer TlsSocket::receive_buffer() {
    auto& w = wire_;
    const std::size_t left = w.in_end - w.in_begin;
    const std::size_t want = w.in && (left > 0 || w.filled) ? recv_size : std::max(w.in_size, idle_recv_size);
    if (w.in_size < want) {
        auto larger = std::make_unique_for_overwrite<char[]>(want);
        if (left > 0) std::memcpy(larger.get(), w.in.get() + w.in_begin, left);
        w.in = std::move(larger);
        w.in_size = want;
    } else if (left > 0 && w.in_begin > 0) {
        std::memmove(w.in.get(), w.in.get() + w.in_begin, left);
    }
    w.in_begin = 0;
    w.in_end = left;
    return asio::buffer(w.in.get() + left, w.in_size - left);
}

void TlsSocket::received(std::size_t n) {
    wire_.in_end += n;
    wire_.filled = wire_.in_end == wire_.in_size;
}

void TlsSocket::release_idle_buffers() {
    auto& w = wire_;
    if (w.in_begin == w.in_end && w.in_size > idle_recv_size) {
        w.in.reset();
        w.in_size = 0;
        w.in_begin = w.in_end = 0;
        w.filled = false;
    }
    if (w.sent == w.out.size() && w.out.capacity() > 0) {
        std::vector<char>().swap(w.out);
        w.sent = 0;
    }
}

// Whether SSL_read could give anything without a socket read: bytes received and not yet taken, or a record OpenSSL
// holds. (Without this, every request would cost an SSL_read that fails before the socket is read.)
bool TlsSocket::has_buffered() const {
    return wire_.in_begin < wire_.in_end || SSL_has_pending(ssl_) == 1;
}

// Handshake: OpenSSL's flights go out before each wait for the client's next bytes.
void TlsSocket::handshake(Done done) { continue_handshake(std::move(done)); }

void TlsSocket::continue_handshake(Done done) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    error_code ec;
    if (rc == 1) {  // the last flight (and TLS 1.3 tickets) then done
        if (send_now(ec)) return complete(std::move(done), ec, 0);
        return wait_writable(0, std::move(done));
    }
    if (SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_READ) {
        error_code failed = ssl_error(rc), unsent;
        send_now(unsent);  // the alert OpenSSL wrote, so the client learns why (best effort)
        return complete(std::move(done), failed, 0);
    }
    auto then_read = [this, done = std::move(done)](error_code e, std::size_t) mutable {
        if (e) return done(e, 0);
        socket_.async_read_some(receive_buffer(),
                                [this, done = std::move(done)](error_code e2, std::size_t n) mutable {
                                    if (e2) return done(e2, 0);
                                    received(n);
                                    continue_handshake(std::move(done));
                                });
    };
    if (send_now(ec)) return complete(std::move(then_read), ec, 0);
    wait_writable(0, std::move(then_read));
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
    auto& w = wire_;
    if (!ec && !sending_ && w.sent < w.out.size()) send_now(ec);
    if (!ec && w.out.size() - w.sent > max_unsent) ec = asio::error::no_buffer_space;
    if (ec) n = 0;
    return ready || ec;
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
    auto& w = wire_;
    while (!ec && w.sent < w.out.size()) {
        error_code e;
        w.sent += socket_.send(asio::buffer(w.out.data() + w.sent, w.out.size() - w.sent), 0, e);
        if (e == asio::error::would_block) return false;
        ec = e;
    }
    if (w.sent == w.out.size()) w.out.clear(), w.sent = 0;
    return true;
}

}  // namespace modelhost::net
