// The HTTP/1.1 session's write side: each queued answer goes out in order — head and content written straight to the
// socket (TLS: encrypted, then sent), large plain-TCP file spans by sendfile(2), a file a mirror is still fetching as
// its bytes arrive — and the next request is read, or the connection closes, when it is out. Reading, the queue and
// the deadlines are in session.cpp.
#include "net/session.hpp"

#include "config/config.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cerrno>
#include <sys/sendfile.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace modelhost::net {

namespace {

constexpr std::uint64_t sendfile_per_turn = 4 << 20;  // then other connections on this thread get a turn
constexpr std::uint64_t write_per_turn = 1 << 20;     // the same for written (and encrypted) bytes

}  // namespace

template <class Stream>
void Session<Stream>::do_write() {
    writing_ = true;
    out_.start(queue_.front().ex.reply, !tls, sendfile_min_);
    write_some();
}

// Sends what is ready — the rest of the head with the next content bytes — until done or the socket is full.
// Sockets are written directly (TLS: encrypted, then sent), so a response that fits in the socket buffer completes
// without a wait or a trip through the event loop; after write_per_turn bytes other connections on this thread get
// a turn.
template <class Stream>
void Session<Stream>::write_some() {
    std::uint64_t written_this_turn = 0;
    for (;;) {
        if (out_.by_sendfile() && out_.head_done()) return do_sendfile();
        beast::error_code ec;
        std::array<asio::const_buffer, 2> bufs;
        if (!out_.next(bufs, ec)) return on_write(ec);
        if (bufs[0].size() + bufs[1].size() == 0) return out_.waiting_for_content() ? wait_for_content() : on_write({});
        if (written_this_turn >= write_per_turn)
            return asio::post(socket().get_executor(), [self = shared_from_this()] { self->write_some(); });
        std::size_t n = 0;
        if constexpr (tls) {
            n = stream_.write(bufs, ec);  // every byte is encrypted; records the kernel did not take wait
            if (ec) return on_write(ec);
            out_.advance(n);
            if (stream_.unsent()) return wait_writable();
        } else {
            // More is coming by sendfile: let the kernel join the head with the first body bytes.
            n = socket().send(bufs, out_.by_sendfile() ? MSG_MORE : 0, ec);
            if (ec == asio::error::would_block) return wait_writable();
            if (ec) return on_write(ec);
            out_.advance(n);
        }
        written_this_turn += n;
    }
}

// Waits until the socket takes more (TLS: until the records already encrypted are all sent), then writes on.
template <class Stream>
void Session<Stream>::wait_writable() {
    write_deadline_ = coarse_now() + seconds(limits_.send_timeout);
    start_ticking();
    auto then = [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->on_write(ec);
        self->write_some();
    };
    if constexpr (tls)
        stream_.async_flush(std::move(then));
    else
        socket().async_wait(tcp::socket::wait_write, std::move(then));
}

// The content is a file a mirror is still fetching and its next bytes are not there yet: no write deadline meanwhile
// (the mirror's timeout bounds the transfer); its writer calls back when they are.
template <class Stream>
void Session<Stream>::wait_for_content() {
    write_deadline_ = clock::time_point::max();
    out_.when_more([self = shared_from_this()]() mutable {  // moved into the posted handler, as in wait_for_upstream
        auto executor = self->socket().get_executor();
        asio::post(executor, [self = std::move(self)] {
            if (self->link_ == Link::closed) return;
            self->write_some();
        });
    });
}

// Zero-copy content: sendfile(2) until done or the socket would block, at most a few MiB per turn so other
// connections on this thread are not starved.
template <class Stream>
void Session<Stream>::do_sendfile() {
    std::uint64_t sent_this_turn = 0;
    while (out_.file_left() > 0) {
        if (sent_this_turn >= sendfile_per_turn)
            return asio::post(socket().get_executor(), [self = shared_from_this()] { self->write_some(); });
        auto offset = static_cast<off_t>(out_.file_offset());
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(out_.file_left(), sendfile_per_turn - sent_this_turn));
        ssize_t n = ::sendfile(socket().native_handle(), out_.file_fd(), &offset, want);
        if (n > 0) {
            out_.sent(static_cast<std::uint64_t>(n));
            sent_this_turn += static_cast<std::uint64_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            // What sendfile queued while more of `want` was to come went as "more follows" (MSG_MORE): a partial
            // segment left so waits for the kernel's 200 ms cork timer, and the peer for it (a 4 MB file from an
            // unaligned Range start: 5 req/s). Setting TCP_NODELAY again pushes it now (tcp(7)).
            const int on = 1;
            ::setsockopt(socket().native_handle(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            return wait_writable();
        } else {
            // The file shrank (n == 0) or the socket failed: close rather than send bytes the file no longer has.
            return on_write(beast::error_code(n == 0 ? EIO : errno, boost::system::generic_category()));
        }
    }
    on_write({});
}

// The response is out (or failed): log it, then send the next one, read the next request, or close.
template <class Stream>
void Session<Stream>::on_write(beast::error_code ec) {
    Pending& done = queue_.front();
    record_exchange(remote_, done.ex.reply.version() == 10 ? "HTTP/1.0" : "HTTP/1.1", done.ex, out_.content_sent(), done.start);
    bool close = ec || !done.ex.reply.keep_alive();
    queue_.pop_front();
    out_.finish();
    writing_ = false;
    if (close) {
        read_ = Read::stopped;
        return do_close();
    }
    if (!queue_.empty()) return do_write();
    // Nothing more to send: close when no request may follow, or when draining and none has started.
    if (read_ == Read::stopped || (draining_ && read_ == Read::idle)) return do_close();
    // Idle time is counted from the end of the last response, not from when the wait began.
    if (read_ == Read::idle && read_pending_) read_deadline_ = coarse_now() + seconds(limits_.keepalive_timeout);
    do_wait();
}

// The members defined here, for both transports (session.cpp instantiates the rest).
template void Session<tcp::socket>::do_write();
template void Session<tcp::socket>::write_some();
template void Session<tcp::socket>::wait_writable();
template void Session<tcp::socket>::wait_for_content();
template void Session<tcp::socket>::do_sendfile();
template void Session<TlsStream>::do_write();
template void Session<TlsStream>::write_some();
template void Session<TlsStream>::wait_writable();
template void Session<TlsStream>::wait_for_content();
template void Session<TlsStream>::do_sendfile();
template void Session<tcp::socket>::on_write(beast::error_code);
template void Session<TlsStream>::on_write(beast::error_code);

}  // namespace modelhost::net
