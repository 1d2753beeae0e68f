// What the HTTP/1.1 and HTTP/2 sessions share: socket set-up, time arithmetic for deadlines, the one timer that
// checks them, and the record of one answered request (access log line and metrics).
#pragma once

#include "http/message.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace modelhost::config {
struct LimitsConfig;
}

namespace modelhost::net {

using Clock = std::chrono::steady_clock;

// A half-closed connection discards what the client still sends for this long, so it reads the last response (or
// GOAWAY) instead of a reset.
constexpr auto linger_time = std::chrono::seconds(2);

Clock::duration seconds(double s);

// Now, for deadlines (whole seconds away): the kernel's coarse monotonic clock, steady_clock's own clock at most a tick
// of a few milliseconds behind, read without the timestamp counter. Access-log durations use Clock::now().
Clock::time_point coarse_now();

// Deadlines are checked this often: a quarter of the shortest timeout, between 5 ms and 1 s.
Clock::duration tick_period(const config::LimitsConfig& l);

// A connection's one timer, HTTP/1.1 or HTTP/2: its deadlines are plain time points, checked on each tick, instead of
// a timer per operation. At most one tick is armed at a time, tick_period(limits) ahead.
class Ticker {
public:
    Ticker(const boost::asio::any_io_executor& executor, const config::LimitsConfig& limits);

    // Arms the next tick unless one is armed: `on_tick(ec)` runs then (`ec` set when cancelled). It owns the
    // connection (a shared_ptr), which owns this.
    template <class OnTick>
    void arm(OnTick on_tick) {
        if (armed_) return;
        armed_ = true;
        timer_.expires_after(period_);
        timer_.async_wait([this, on_tick = std::move(on_tick)](boost::system::error_code ec) mutable {
            armed_ = false;
            on_tick(ec);
        });
    }
    void cancel() { timer_.cancel(); }

private:
    boost::asio::steady_timer timer_;
    const Clock::duration period_;
    bool armed_ = false;
};

// No delay; for a plain connection a small TCP_NOTSENT_LOWAT (each write or sendfile goes out at once from this thread
// instead of being pushed later by the peer's ACKs). A TLS connection keeps the kernel's default: with a mark, HTTPS
// throughput was bistable from run to run (the figures for both: docs/BENCHMARKS.md, "TCP_NOTSENT_LOWAT"). Returns
// the peer as "address:port", or "-".
std::string prepare_socket(boost::asio::ip::tcp::socket& socket, bool tls);

// One answered request: the access-log line and the response metrics.
void record_exchange(std::string_view remote, std::string_view protocol, const http::Exchange& ex,
                     std::uint64_t content_bytes, Clock::time_point start);

}  // namespace modelhost::net
