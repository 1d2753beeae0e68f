// Acceptors feed sessions; signals start a drain bounded by server.shutdown_timeout.
#include "net/server.hpp"

#include "config/config.hpp"
#include "log/logging.hpp"
#include "net/session.hpp"
#include "net/tracker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <list>
#include <thread>
#include <sys/resource.h>

namespace modelhost::net {

struct Server::Impl {
    Impl(const config::Config& c)
        : cfg(c),
          threads(cfg.server.worker_threads()),
          handler(c),
          tracker(c.limits.max_connections),
          ioc(threads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
          signals(ioc),
          shutdown_timer(ioc) {
        if (c.tls.enabled()) tls = make_tls_context(c.tls);
        // A file lookup trusted for the rest of this pass: end the pass once the handlers already queued have run.
        handler.set_pass_end([this] { asio::post(ioc, [this] { handler.end_pass(); }); });
    }

    // The server's TLS context, loaded once; a bad file stops the start naming the key.
    static std::unique_ptr<asio::ssl::context> make_tls_context(const config::TlsConfig& t) {
        auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        beast::error_code ec;
        ctx->use_certificate_chain_file(t.cert_file, ec);
        if (ec) throw StartupError("tls.cert_file: cannot load \"" + t.cert_file + "\": " + ec.message());
        ctx->use_private_key_file(t.key_file, asio::ssl::context::pem, ec);
        if (ec) throw StartupError("tls.key_file: cannot load \"" + t.key_file + "\": " + ec.message());
        return ctx;
    }

    void bind();
    void do_accept(tcp::acceptor& a);
    void on_accept(tcp::acceptor& a, beast::error_code ec, tcp::socket socket);
    void wait_signal();
    void begin_shutdown(const char* why);

    config::Config cfg;
    unsigned threads;
    http::Handler handler;
    Tracker tracker;
    asio::io_context ioc;
    std::list<tcp::acceptor> acceptors;
    asio::signal_set signals;
    asio::steady_timer shutdown_timer;
    std::unique_ptr<asio::ssl::context> tls;
    std::atomic<bool> stopping{false};
    std::uint16_t port = 0;
};

void Server::Impl::bind() {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto results = resolver.resolve(cfg.server.host, std::to_string(cfg.server.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) throw StartupError("server.host: cannot resolve \"" + cfg.server.host + "\": " + ec.message());
    for (const auto& entry : results) {
        tcp::endpoint ep = entry.endpoint();
        if (port != 0) ep.port(port);  // port 0: every address of the host shares the first one's port
        tcp::acceptor a(ioc);
        a.open(ep.protocol(), ec);
        if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
        // "::" listens dual-stack (IPv4 arrives IPv4-mapped) unless server.ipv6_only says otherwise.
        if (!ec && ep.address().is_v6()) a.set_option(asio::ip::v6_only(cfg.server.ipv6_only), ec);
        if (!ec) a.bind(ep, ec);
        if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
        std::string where = ep.address().to_string() + ":" + std::to_string(ep.port());
        if (ec == asio::error::address_in_use)
            throw StartupError("server.port: " + where + " is already in use; stop the other server or choose another port (--port)");
        if (ec) throw StartupError("server.host/server.port: cannot listen on " + where + ": " + ec.message());
        port = a.local_endpoint().port();
        acceptors.push_back(std::move(a));
    }
    if (acceptors.empty()) throw StartupError("server.host: \"" + cfg.server.host + "\" has no address to listen on");
}

void Server::Impl::do_accept(tcp::acceptor& a) {
    // Each connection's handlers run one at a time: on a strand when several threads share the io_context.
    asio::any_io_executor ex = threads > 1 ? asio::any_io_executor(asio::make_strand(ioc)) : ioc.get_executor();
    a.async_accept(ex, [this, &a](beast::error_code ec, tcp::socket s) {
        on_accept(a, ec, std::move(s));
    });
}

void Server::Impl::on_accept(tcp::acceptor& a, beast::error_code ec, tcp::socket socket) {
    if (!a.is_open() || ec == asio::error::operation_aborted) return;
    if (ec) {
        // Out of descriptors or a transient failure: the server stays up and keeps accepting.
        spdlog::warn("accept failed: {}", ec.message());
        auto pause = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(50));
        pause->async_wait([this, &a, pause](beast::error_code) {
            if (a.is_open()) do_accept(a);
        });
        return;
    }
    std::shared_ptr<SessionBase> session;
    if (tls)
        session = std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls), handler, cfg.limits,
                                                       cfg.server.sendfile_min_bytes, tracker);
    else
        session = std::make_shared<Session<tcp::socket>>(std::move(socket), handler, cfg.limits,
                                                         cfg.server.sendfile_min_bytes, tracker);
    auto admission = tracker.add(session);
    if (admission == Tracker::Admission::refuse)
        spdlog::warn("connection limit {} reached: refusing a connection with 503", cfg.limits.max_connections);
    if (admission != Tracker::Admission::drop) session->run(admission == Tracker::Admission::refuse);
    do_accept(a);  // a dropped connection closes as `session` goes out of scope
}

void Server::Impl::wait_signal() {
    signals.async_wait([this](beast::error_code ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {  // the conventional reload signal must never stop a node
            spdlog::warn("SIGHUP: live reload is not implemented yet; restart to apply a changed configuration "
                         "(new and changed model files are picked up without one)");
            return wait_signal();
        }
        if (stopping.load()) {
            spdlog::warn("second signal ({}): exiting now", signo);
            log::flush();
            std::_Exit(128 + signo);
        }
        begin_shutdown(signo == SIGINT ? "SIGINT" : "SIGTERM");
        wait_signal();
    });
}

void Server::Impl::begin_shutdown(const char* why) {
    if (stopping.exchange(true)) return;
    for (auto& a : acceptors) {
        beast::error_code ec;
        a.close(ec);
    }
    spdlog::info("{}: no longer accepting; finishing {} connection(s) for up to {}s", why, tracker.size(),
                 cfg.server.shutdown_timeout);
    shutdown_timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(cfg.server.shutdown_timeout)));
    shutdown_timer.async_wait([this](beast::error_code ec) {
        if (ec) return;
        spdlog::warn("shutdown timeout: closing {} unfinished connection(s)", tracker.size());
        ioc.stop();
    });
    tracker.drain_all([this] {
        asio::post(ioc, [this] {
            spdlog::info("all connections finished; exiting");
            ioc.stop();
        });
    });
}

namespace {

// Raises the soft descriptor limit to the hard one; warns when max_connections (plus refusals, listeners and logs)
// cannot fit, since accept would then fail with EMFILE (logged, retried) before the limit is reached.
void raise_descriptor_limit(std::size_t max_connections) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
    if (lim.rlim_cur < lim.rlim_max) {
        rlimit raised{lim.rlim_max, lim.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
    }
    // Each connection holds its socket (and, while it sends a large file, that file); refusals and listeners add some.
    const auto need = static_cast<rlim_t>(max_connections + 128);
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need)
        spdlog::warn("limits.max_connections {} needs about {} descriptors but RLIMIT_NOFILE is {}; raise it (ulimit -n, "
                     "LimitNOFILE=) or lower limits.max_connections", max_connections, need, lim.rlim_cur);
}

}  // namespace

Server::Server(const config::Config& cfg) : impl_(std::make_unique<Impl>(cfg)) {
    raise_descriptor_limit(cfg.limits.max_connections);
    // sendfile(2) to a peer that has gone raises SIGPIPE (Asio's own sends use MSG_NOSIGNAL): an EPIPE is enough.
    std::signal(SIGPIPE, SIG_IGN);
    impl_->bind();
}

Server::~Server() = default;

std::uint16_t Server::port() const { return impl_->port; }

void Server::catch_signals() {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->signals.add(SIGHUP);
    impl_->wait_signal();
}

void Server::run() {
    auto& im = *impl_;
    for (auto& a : im.acceptors) im.do_accept(a);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < im.threads; ++i) pool.emplace_back([&im] { im.ioc.run(); });
    im.ioc.run();
    for (auto& t : pool) t.join();
}

void Server::stop() {
    asio::post(impl_->ioc, [im = impl_.get()] { im->begin_shutdown("stop requested"); });
}

}  // namespace modelhost::net
