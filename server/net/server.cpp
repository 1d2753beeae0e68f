// Acceptors feed sessions; stop() starts a drain bounded by its grace (server.shutdown_timeout). Signals are the
// process's business: the binary maps them onto stop() and reload() (app/serve.cpp).
#include "net/server.hpp"

#include "base/text.hpp"

#include "config/config.hpp"
#include "config/load.hpp"
#include "log/logging.hpp"
#include "metrics/metrics.hpp"
#include "net/connection.hpp"
#include "net/session.hpp"
#include "net/tls.hpp"
#include "net/tracker.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

namespace modelhost::net {

namespace {

// The event loop the calling thread runs (null on threads that run none: mirror transfers, tests).
thread_local boost::asio::io_context* this_thread_loop = nullptr;

// Warns when max_connections (plus refusals, listeners and logs) cannot fit under the descriptor limit, since accept
// would then fail with EMFILE (logged, retried) before the limit is reached. (Raising the limit is the process's
// business: the binary does, app/serve.cpp; a library leaves it to its app.)
void warn_if_few_descriptors(std::size_t max_connections, unsigned threads) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
    // Each connection holds its socket (and, while it sends a large file, that file); refusals and listeners add some,
    // and each worker's event loop three (its epoll instance, wake-up eventfd and timerfd).
    const auto need = static_cast<rlim_t>(max_connections + 128 + 3 * std::size_t{threads});
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need)
        log::warn("limits.max_connections {} with server.threads {} needs about {} descriptors but RLIMIT_NOFILE is {}; "
                     "raise it (ulimit -n, LimitNOFILE=) or lower limits.max_connections", max_connections, threads, need,
                     lim.rlim_cur);
}

}  // namespace

// One event loop per worker thread, as nginx's workers and h2o's threads: a connection lives on one loop for its
// whole life, so its handlers never run concurrently (no strand) and the loops share no scheduler or epoll instance.
// Loop 0 also accepts (handing each connection to the next loop in turn), and runs the timers.
struct Server::Impl {
    // The event loop (and the connections on it) goes before the handler: the mirrors let go of them first.
    ~Impl() { handler.close_mirrors(); }

    Impl(const config::Config& c)
        : cfg(c),
          threads(cfg.server.worker_threads()),
          handler(c),
          tracker(c.limits.max_connections),
          ioc(1),  // each loop is run by one thread
          shutdown_timer(ioc),
          tls_watch(ioc) {
        if (c.tls.enabled()) {
            install_tls(make_tls_context(c.tls, c.http2.enabled));
            tls_files = c.tls;
            tls_seen = tls_files_stamp(tls_files);
        }
        warn_if_few_descriptors(c.limits.max_connections, threads);
        for (unsigned i = 1; i < threads; ++i) workers.push_back(std::make_unique<asio::io_context>(1));
        // A file lookup trusted for the rest of this thread's pass: the pass ends once the handlers already queued on
        // the thread's loop have run (a thread without a loop has no passes).
        handler.set_pass_end([this] {
            if (!this_thread_loop) return false;
            asio::post(*this_thread_loop, [this] { handler.end_pass(); });
            return true;
        });
    }

    asio::io_context& loop(unsigned i) { return i == 0 ? ioc : *workers[i - 1]; }
    void stop_loops() {
        for (unsigned i = 0; i < threads; ++i) loop(i).stop();
    }

    void install_tls(std::shared_ptr<asio::ssl::context> next) {
        tls.store(std::move(next), std::memory_order_release);
        tls_made = std::chrono::steady_clock::now();
    }
    void watch_tls_files();
    void bind();
    void do_accept(tcp::acceptor& a);
    void on_accept(tcp::acceptor& a, beast::error_code ec, tcp::socket socket);
    void begin_shutdown(const char* why, double grace);
    void arm_shutdown_timer(std::chrono::steady_clock::time_point deadline);
    bool reload();
    bool apply(config::Config next, std::string& error);

    config::Config cfg;
    unsigned threads;
    http::Handler handler;
    Tracker tracker;
    asio::io_context ioc;  // loop 0
    std::vector<std::unique_ptr<asio::io_context>> workers;  // loops 1 .. threads - 1
    unsigned next_loop = 0;  // the loop the next accepted connection goes to (touched on loop 0 only)
    std::list<tcp::acceptor> acceptors;
    asio::steady_timer shutdown_timer;
    // New connections take the current context; a TLS session keeps its SSL_CTX alive itself (OpenSSL counts it).
    std::atomic<std::shared_ptr<asio::ssl::context>> tls;
    std::function<config::Config()> load_again;
    config::TlsConfig tls_files;        // the certificate and key in force (the last good load)
    std::string tls_seen, tls_failed;   // their stamps: loaded, and last refused
    std::chrono::steady_clock::time_point tls_made;  // when the context in force was made (its ticket keys)
    asio::steady_timer tls_watch;
    std::mutex reloading;  // one reload at a time
    unsigned generation = 1;
    std::atomic<bool> stopping{false};
    std::uint16_t port = 0;
    std::shared_ptr<log::Context> logs = log::current();  // where this server's lines go, on each of its threads
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
    // The connection is made on the next loop in turn: the accepted socket belongs to it, and so do its handlers.
    asio::io_context& to = loop(next_loop);
    next_loop = (next_loop + 1) % threads;
    a.async_accept(to.get_executor(), [this, &a](beast::error_code ec, tcp::socket s) {
        on_accept(a, ec, std::move(s));
    });
}

void Server::Impl::on_accept(tcp::acceptor& a, beast::error_code ec, tcp::socket socket) {
    if (!a.is_open() || ec == asio::error::operation_aborted) return;
    if (ec) {
        // Out of descriptors or a transient failure: the server stays up and keeps accepting.
        log::warn("accept failed: {}", ec.message());
        auto pause = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(50));
        pause->async_wait([this, &a, pause](beast::error_code) {
            if (a.is_open()) do_accept(a);
        });
        return;
    }
    std::shared_ptr<SessionBase> session;
    if (auto context = tls.load(std::memory_order_acquire))
        session = std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *context), handler, cfg.limits,
                                                       cfg.http2, cfg.server.sendfile_min_bytes, tracker);
    else
        session = std::make_shared<Session<tcp::socket>>(std::move(socket), handler, cfg.limits, cfg.http2,
                                                         cfg.server.sendfile_min_bytes, tracker);
    auto admission = tracker.add(session);
    if (admission == Tracker::Admission::refuse)
        log::warn("connection limit {} reached: refusing a connection (503; GOAWAY over HTTP/2)", cfg.limits.max_connections);
    if (admission != Tracker::Admission::drop) session->run(admission == Tracker::Admission::refuse);
    do_accept(a);  // a dropped connection closes as `session` goes out of scope
}

bool Server::Impl::reload() {
    if (!load_again) {
        log::warn("reload requested, but this server was started without a way to read its configuration again");
        return false;
    }
    std::string error;
    try {
        return apply(load_again(), error);
    } catch (const std::exception& e) {
        metrics::count(metrics::Event::reload_failed);
        log::error("reload refused, still serving the previous configuration: {}", e.what());
        return false;
    }
}

// Swaps in what can change: the request policy, the TLS certificate and key, the log settings. Anything invalid
// refuses the whole reload (`error` says why), and the running configuration stays. A setting the running process
// cannot change (config::settings(), the column `kept_until_restart`) is named when it differs, and kept.
bool Server::Impl::apply(config::Config next, std::string& error) {
    std::lock_guard lock(reloading);
    try {
        std::shared_ptr<asio::ssl::context> next_tls;
        if (cfg.tls.enabled() && next.tls.enabled()) next_tls = make_tls_context(next.tls, cfg.http2.enabled);
        const std::vector<std::string> restart_only = config::needs_restart(cfg, next);
        // The file store caches below the sessions' sendfile threshold, which they keep until a restart: so does it.
        next.server.sendfile_min_bytes = cfg.server.sendfile_min_bytes;
        // The mirrors keep their root (config/layers.cpp, same_root_under_mirrors): so do the files served.
        if (!cfg.mirrors.empty()) next.server.root = cfg.server.root;
        handler.reload(next);
        if (next_tls) {
            install_tls(std::move(next_tls));  // (tls_files: the rotation period may change too)
            tls_files = next.tls;
            tls_seen = tls_files_stamp(tls_files);
        }
        log::reconfigure(next.log);
        for (const auto& key : restart_only)
            log::warn("reload: {} changed; it takes effect at the next restart (kept as it was)", key);
        for (const auto& w : next.warnings) log::warn("{}", w);
        metrics::count(metrics::Event::reload_ok);
        metrics::set_generation(generation + 1);
        log::info("reloaded the configuration (generation {}): CORS allow_origins=[{}], {} route(s){}", ++generation,
                     join(next.cors.allow_origins), next.routes.size(), next_tls ? ", TLS certificate and key" : "");
        return true;
    } catch (const std::exception& e) {
        metrics::count(metrics::Event::reload_failed);
        log::error("reload refused, still serving the previous configuration: {}", e.what());
        error = e.what();
        return false;
    }
}

// certbot and cert-manager replace the files in place: every few seconds, a changed certificate or key is loaded for
// new connections. A pair that does not load yet (the key written before its certificate) is tried again at the next
// look; each refused state is logged once. A context older than tls.ticket_key_rotation is made afresh from the same
// files: its session-ticket keys are new (OpenSSL draws them per context), so a stolen key opens at most that long
// of recorded sessions; a ticket from before resumes no more (a full handshake instead).
void Server::Impl::watch_tls_files() {
    tls_watch.expires_after(std::chrono::seconds(2));
    tls_watch.async_wait([this](beast::error_code ec) {
        if (ec || stopping.load()) return;
        std::lock_guard lock(reloading);
        std::string now = tls_files_stamp(tls_files);
        const bool changed = now != tls_seen && now != tls_failed;
        const bool old = std::chrono::steady_clock::now() - tls_made >= seconds(tls_files.ticket_key_rotation);
        if (changed || old) {
            try {
                install_tls(make_tls_context(tls_files, cfg.http2.enabled));
                if (changed) log::info("tls: {} changed on disk; new connections use it", tls_files.cert_file);
                else log::info("tls: session ticket keys rotated");
                if (changed) tls_seen = now;
            } catch (const std::exception& e) {
                if (changed) tls_failed = now;
                else tls_made = std::chrono::steady_clock::now();  // (the files changed meanwhile: the next look loads them)
                log::error("tls: the certificate or key changed on disk but does not load (still using the previous "
                              "one; tried again when they change): {}", e.what());
            }
        }
        watch_tls_files();
    });
}

void Server::Impl::begin_shutdown(const char* why, double grace) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(grace));
    if (stopping.exchange(true)) {  // already draining: a shorter grace moves the deadline nearer
        if (deadline < shutdown_timer.expiry()) arm_shutdown_timer(deadline);
        return;
    }
    tls_watch.cancel();
    for (auto& a : acceptors) {
        beast::error_code ec;
        a.close(ec);
    }
    log::info("{}: no longer accepting; finishing {} connection(s) for up to {}s", why, tracker.size(), grace);
    arm_shutdown_timer(deadline);
    tracker.drain_all([this] {
        asio::post(ioc, [this] {
            log::info("all connections finished; exiting");
            stop_loops();
        });
    });
}

void Server::Impl::arm_shutdown_timer(std::chrono::steady_clock::time_point deadline) {
    shutdown_timer.expires_at(deadline);
    shutdown_timer.async_wait([this](beast::error_code ec) {
        if (ec) return;
        log::warn("shutdown timeout: closing {} unfinished connection(s)", tracker.size());
        stop_loops();
    });
}

Server::Server(const config::Config& cfg) : impl_(std::make_unique<Impl>(cfg)) { impl_->bind(); }

Server::~Server() = default;

std::uint16_t Server::port() const { return impl_->port; }

namespace {

// sendfile(2) to a peer that has gone raises SIGPIPE (Asio's own sends use MSG_NOSIGNAL), which kills a process that
// has not ignored it. The server's threads block it instead, for as long as they serve, leaving the process's
// disposition alone: the threads they start inherit the mask, a SIGPIPE raised on them stays pending (an EPIPE tells
// the writer), and is taken off the calling thread before its own mask comes back.
class SigpipeBlocked {
public:
    SigpipeBlocked() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, &before_);
    }
    ~SigpipeBlocked() {
        sigset_t pipe, pending;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1 && sigismember(&before_, SIGPIPE) == 0) {
            const timespec now{0, 0};
            while (sigtimedwait(&pipe, nullptr, &now) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &before_, nullptr);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

private:
    sigset_t before_;
};

}  // namespace

void Server::run() {
    auto& im = *impl_;
    SigpipeBlocked no_sigpipe;
    log::Use logs(im.logs);
    for (auto& a : im.acceptors) im.do_accept(a);
    if (im.tls.load()) im.watch_tls_files();
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < im.threads; ++i)
        pool.emplace_back([&im, i] {
            log::Use worker_logs(im.logs);
            this_thread_loop = &im.loop(i);
            auto busy = asio::make_work_guard(*this_thread_loop);  // runs until stopped, with or without connections
            this_thread_loop->run();
            im.handler.end_pass();  // (its posted end may never have run)
        });
    this_thread_loop = &im.ioc;
    im.ioc.run();
    im.stop_loops();  // (loop 0 ran out of work: the others stop with it)
    for (auto& t : pool) t.join();
    im.handler.end_pass();  // this thread may look files up again later, outside any loop
    this_thread_loop = nullptr;
}

void Server::on_reload(std::function<config::Config()> load_again) { impl_->load_again = std::move(load_again); }

void Server::stop(std::optional<double> grace, std::string why) {
    asio::post(impl_->ioc, [im = impl_.get(), grace, why = std::move(why)] {
        im->begin_shutdown(why.c_str(), grace.value_or(im->cfg.server.shutdown_timeout));
    });
}

bool Server::reload() { return !impl_->stopping.load() && impl_->reload(); }

bool Server::stopping() const { return impl_->stopping.load(); }

bool Server::reload(const config::Config& next, std::string& error) { return impl_->apply(next, error); }

}  // namespace modelhost::net
