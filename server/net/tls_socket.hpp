// A server-side TLS connection over a TCP socket, driving OpenSSL directly: OpenSSL takes the client's bytes straight
// from this class's receive buffer and writes its records straight into its send buffer, which goes to the socket in
// one send.
// Asio's ssl::stream sends each 16 KiB record with its own write and completion handler; this sends a whole
// response batch (many records) per system call, and copies each ciphertext byte at most once before the kernel (a
// response of one record, none: it is sent from OpenSSL's buffer).
//
// The interface is the part of an Asio stream the sessions use (async_handshake, async_read_some,
// async_write_some, next_layer, native_handle), so Session and Http2Session take it as their Stream. Completion
// handlers run on the socket's executor, never inside the initiating call.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct ssl_st;

namespace boost::asio::ssl {
class context;
}

namespace modelhost::net {

class TlsSocket {
public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;
    using Done = std::function<void(boost::system::error_code, std::size_t)>;

    // A server connection using `context` (which OpenSSL keeps alive for this connection, across reloads).
    TlsSocket(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context);
    TlsSocket(TlsSocket&& other) noexcept;
    TlsSocket& operator=(TlsSocket&&) = delete;
    ~TlsSocket();

    executor_type get_executor() { return socket_.get_executor(); }
    boost::asio::ip::tcp::socket& next_layer() { return socket_; }
    ssl_st* native_handle() { return ssl_; }

    // The server side of the handshake; `handler(ec)`.
    template <class Handler>
    void async_handshake(boost::asio::ssl::stream_base::handshake_type, Handler&& handler) {
        handshake([h = std::forward<Handler>(handler)](boost::system::error_code ec, std::size_t) mutable { h(ec); });
    }

    // Up to buffer_size(into) bytes of plaintext; `handler(ec, n)`. A clean close_notify or a TCP close is eof.
    // Handlers are kept as their own types (no std::function): a request costs no allocation here.
    template <class Handler>
    void async_read_some(boost::asio::mutable_buffer into, Handler&& handler) {
        boost::system::error_code ec;
        std::size_t n = 0;
        if (has_buffered() && read_buffered(into, ec, n)) return complete(std::forward<Handler>(handler), ec, n);
        receive(into, std::forward<Handler>(handler));
    }

    // Encrypts every byte of `buffers` and sends what the kernel takes now; returns the plaintext bytes taken (all of
    // them, unless `ec`). Records the kernel did not take wait in the output (unsent()) for async_flush.
    // A response that fits one record (head and a small body) is joined first, so it costs one record, not one per
    // buffer.
    template <class Buffers>
    std::size_t write(const Buffers& buffers, boost::system::error_code& ec) {
        std::size_t n = 0;
        const auto begin = boost::asio::buffer_sequence_begin(buffers), end = boost::asio::buffer_sequence_end(buffers);
        if (const std::size_t total = boost::asio::buffer_size(buffers); total <= record_size) {
            // One record: it goes to the socket straight from OpenSSL's buffer when nothing waits before it.
            boost::asio::const_buffer one(nullptr, 0);
            if (total == 0 || std::next(begin) == end) {
                if (begin != end) one = boost::asio::const_buffer(*begin);
            } else {
                // One buffer per thread, not per connection: it is free again once SSL_write returns, and stays in
                // the cache.
                thread_local std::string joined;
                joined.clear();
                for (auto it = begin; it != end; ++it)
                    joined.append(static_cast<const char*>(boost::asio::const_buffer(*it).data()), boost::asio::const_buffer(*it).size());
                one = boost::asio::buffer(joined);
            }
            wire_.direct = !unsent();
            if (encrypt(one, ec)) n = total;
            wire_.direct = false;
            if (!ec) ec = std::exchange(wire_.send_error, {});
        } else {
            for (auto it = begin; it != end; ++it) {
                boost::asio::const_buffer b(*it);
                if (!encrypt(b, ec)) break;
                n += b.size();
            }
        }
        if (!ec) send_now(ec);
        return n;
    }

    // Whether records wait for the kernel to take them.
    bool unsent() const { return wire_.sent < wire_.out.size(); }

    // Sends the records waiting in the output as the socket takes them; `handler(ec)`.
    template <class Handler>
    void async_flush(Handler&& handler) {
        wait_writable(0, [h = std::forward<Handler>(handler)](boost::system::error_code ec, std::size_t) mutable { h(ec); });
    }

    // write(), then `handler(ec, plaintext bytes)` once every record is handed to the kernel (so the caller's buffers
    // are free).
    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        boost::system::error_code ec;
        const std::size_t n = write(buffers, ec);
        if (ec || !unsent()) return complete(std::forward<Handler>(handler), ec, n);
        wait_writable(n, std::forward<Handler>(handler));
    }

    // The bytes between OpenSSL and the socket, reached by the BIO (tls_socket.cpp), which a move of this object (into
    // the session, or the HTTP/2 hand-over) points at the new place.
    struct Wire {
        int fd = -1;             // the socket (non-blocking)
        bool direct = false;     // records go to the socket at once; what it does not take waits in `out`
        boost::system::error_code send_error;  // a direct send failed
        std::vector<char> out;   // records written by OpenSSL and not yet sent: [sent, out.size())
        std::size_t sent = 0;
        std::unique_ptr<char[]> in;  // one socket read; OpenSSL has not yet taken [in_begin, in_end)
        std::size_t in_begin = 0, in_end = 0;
        std::size_t in_size = 0;     // idle_recv_size or recv_size
        bool filled = false;         // the last read filled `in`: more may be waiting
    };

    // Lets go of what an idle connection need not hold: the output once sent, and the input beyond a small first
    // read (a request's record fits in it; a larger one grows it). The HTTP/1.1 session calls it as it waits for the
    // next request.
    void release_idle_buffers();

private:
    void handshake(Done done);
    void continue_handshake(Done done);
    bool has_buffered() const;
    boost::asio::mutable_buffer receive_buffer();
    void received(std::size_t n);
    bool try_read(boost::asio::mutable_buffer into, boost::system::error_code& ec, std::size_t& n);
    bool read_buffered(boost::asio::mutable_buffer into, boost::system::error_code& ec, std::size_t& n);
    bool encrypt(boost::asio::const_buffer plain, boost::system::error_code& ec);
    bool send_now(boost::system::error_code& ec);
    boost::system::error_code ssl_error(int result);

    // Completes an operation on the socket's executor, never inside the initiating call.
    template <class Handler>
    void complete(Handler&& handler, boost::system::error_code ec, std::size_t n) {
        boost::asio::post(socket_.get_executor(), [h = std::forward<Handler>(handler), ec, n]() mutable { h(ec, n); });
    }

    // Reads the socket until OpenSSL has plaintext (or fails). Asio's own read: it needs no epoll_ctl per wait
    // (async_wait re-arms the descriptor every time), at the price of a speculative recv that usually finds nothing
    // (docs/BENCHMARKS.md).
    template <class Handler>
    void receive(boost::asio::mutable_buffer into, Handler&& handler) {
        socket_.async_read_some(receive_buffer(),
                                [this, into, h = std::forward<Handler>(handler)](boost::system::error_code e, std::size_t got) mutable {
                                    if (e || got == 0) return h(e ? e : boost::asio::error::eof, std::size_t{0});
                                    received(got);
                                    boost::system::error_code ec;
                                    std::size_t n = 0;
                                    if (read_buffered(into, ec, n)) return h(ec, n);
                                    receive(into, std::move(h));  // a partial record: read more
                                });
    }

    // Sends the records waiting in the output as the socket takes them, then reports `plain` bytes written.
    template <class Handler>
    void wait_writable(std::size_t plain, Handler&& handler) {
        sending_ = true;
        socket_.async_wait(boost::asio::ip::tcp::socket::wait_write,
                           [this, plain, h = std::forward<Handler>(handler)](boost::system::error_code ec) mutable {
                               if (ec || send_now(ec)) {
                                   sending_ = false;
                                   return h(ec, plain);
                               }
                               wait_writable(plain, std::move(h));
                           });
    }

    boost::asio::ip::tcp::socket socket_;
    ssl_st* ssl_ = nullptr;
    Wire wire_;  // the BIO points at it (re-pointed when this object moves)
    bool sending_ = false;             // a send waits for writability (it will send whatever the output holds)
    static constexpr std::size_t record_size = 16 * 1024;  // TLS plaintext per record
    static constexpr std::size_t recv_size = 16 * 1024 + 512;  // one socket read: a TLS record and some
    static constexpr std::size_t idle_recv_size = 2048;        // the first read after idling
};

}  // namespace modelhost::net
