#include "net/connection.hpp"

#include "config/config.hpp"
#include "log/logging.hpp"
#include "metrics/metrics.hpp"

#include <algorithm>
#include <ctime>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace modelhost::net {

namespace {

constexpr int notsent_lowat = 16 * 1024;  // TCP_NOTSENT_LOWAT: unsent bytes the kernel may hold

}  // namespace

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

Clock::time_point coarse_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                         std::chrono::nanoseconds(ts.tv_nsec)));
}

Clock::duration tick_period(const config::LimitsConfig& l) {
    double shortest = std::min({l.header_timeout, l.keepalive_timeout, l.send_timeout});
    return seconds(std::clamp(shortest / 4, 0.005, 1.0));
}

Ticker::Ticker(const boost::asio::any_io_executor& executor, const config::LimitsConfig& limits)
    : timer_(executor), period_(tick_period(limits)) {}

std::string prepare_socket(boost::asio::ip::tcp::socket& socket, bool tls) {
    boost::system::error_code ec;
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    int lowat = notsent_lowat;
    if (!tls) ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    auto ep = socket.remote_endpoint(ec);
    return ec ? "-" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

void record_exchange(std::string_view remote, std::string_view protocol, const http::Exchange& ex,
                     std::uint64_t content_bytes, Clock::time_point start) {
    auto ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const auto& f = ex.log;
    log::access({remote, protocol, f.method, f.target, f.origin, f.note, ex.reply.result_int(), content_bytes, ms});
    metrics::count_response(ex.method_index, ex.reply.result_int(), ex.route_index, content_bytes, ms / 1000);
}

}  // namespace modelhost::net
