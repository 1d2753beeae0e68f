// A server-side TLS connection over a TCP socket, driving OpenSSL directly: OpenSSL reads the client's bytes from a
// memory BIO and writes its records straight into this class's send buffer, which goes to the socket in one send.
// Asio's ssl::stream sends each 16 KiB record with its own write and completion handler; this sends a whole
// response batch (many records) per system call, and copies each ciphertext byte once before the kernel.
//
// The interface is the part of an Asio stream the sessions use (async_handshake, async_read_some,
// async_write_some, next_layer, native_handle), so Session and Http2Session take it as their Stream. Completion
// handlers run on the socket's executor, never inside the initiating call.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

struct ssl_st;
struct bio_st;

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
    template <class Handler>
    void async_read_some(boost::asio::mutable_buffer into, Handler&& handler) {
        read(into, Done(std::forward<Handler>(handler)));
    }

    // Encrypts every byte of `buffers` and sends the records; `handler(ec, plaintext bytes)` once they are all
    // handed to the kernel (so the caller's buffers are free).
    // A response that fits one record (head and a small body) is joined first, so it costs one record, not one per
    // buffer.
    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        std::size_t n = 0;
        boost::system::error_code ec;
        const auto begin = boost::asio::buffer_sequence_begin(buffers), end = boost::asio::buffer_sequence_end(buffers);
        if (const std::size_t total = boost::asio::buffer_size(buffers); total <= record_size && std::next(begin) != end) {
            joined_.clear();
            for (auto it = begin; it != end; ++it)
                joined_.append(static_cast<const char*>(boost::asio::const_buffer(*it).data()), boost::asio::const_buffer(*it).size());
            if (encrypt(boost::asio::buffer(joined_), ec)) n = total;
        } else {
            for (auto it = begin; it != end; ++it) {
                boost::asio::const_buffer b(*it);
                if (!encrypt(b, ec)) break;
                n += b.size();
            }
        }
        send(ec, n, Done(std::forward<Handler>(handler)));
    }

    // Records written by OpenSSL (through the write BIO, tls_socket.cpp) and not yet sent: [sent, bytes.size()).
    // Held by pointer so the BIO's reference to it survives a move of this object (the HTTP/2 hand-over).
    struct Output {
        std::vector<char> bytes;
        std::size_t sent = 0;
    };

private:
    void handshake(Done done);
    void continue_handshake(Done done);
    void read(boost::asio::mutable_buffer into, Done done);
    bool try_read(boost::asio::mutable_buffer into, boost::system::error_code& ec, std::size_t& n);
    bool read_buffered(boost::asio::mutable_buffer into, boost::system::error_code& ec, std::size_t& n);
    bool encrypt(boost::asio::const_buffer plain, boost::system::error_code& ec);
    void send(boost::system::error_code ec, std::size_t plain, Done done);
    bool send_now(boost::system::error_code& ec);
    void wait_writable(std::size_t plain, Done done);
    boost::system::error_code ssl_error(int result);

    boost::asio::ip::tcp::socket socket_;
    ssl_st* ssl_ = nullptr;
    bio_st* in_ = nullptr;             // the client's bytes, received and not yet decrypted (memory BIO)
    std::unique_ptr<Output> out_;
    bool sending_ = false;             // a send waits for writability (it will send whatever the output holds)
    std::unique_ptr<char[]> recv_;     // one socket read
    std::string joined_;               // a small response's buffers, joined into one record
    static constexpr std::size_t record_size = 16 * 1024;  // TLS plaintext per record
};

}  // namespace modelhost::net
