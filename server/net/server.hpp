// The listening server: acceptors, worker threads, signals and graceful shutdown.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace modelhost::config {
struct Config;
}

namespace modelhost::net {

// The server could not start (address in use, unresolvable host); the message names the key and what to do.
class StartupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Server {
public:
    // Compiles the policy and binds the listeners; throws StartupError, config::ConfigError.
    explicit Server(const config::Config& cfg);
    ~Server();

    // The bound port (useful with port 0).
    std::uint16_t port() const;

    // From now on SIGINT/SIGTERM start the graceful drain (delivered once run() runs); a second signal exits at once.
    // Call it before announcing the server, so a signal right after the announcement is never fatal.
    void catch_signals();

    // Serves until stop(), or a caught signal and the drain that follows, on the calling thread (loop 0) and
    // server.threads - 1 more, which it joins before returning. Lines go to the log context current at construction
    // (log::Use). SIGPIPE is blocked on these threads while they serve, never ignored process-wide.
    void run();

    // Starts a graceful shutdown from any thread: no new connections; those open finish for up to `grace` seconds
    // (server.shutdown_timeout when not given), then close.
    void stop(std::optional<double> grace = std::nullopt);

    // Swaps in `next` as SIGHUP would (the policy, the TLS context, the log settings; restart-only settings are
    // kept and named), from any thread. False, with `error` saying why, when it is refused: the running one stays.
    bool reload(const config::Config& next, std::string& error);

    // How SIGHUP reloads: `load_again` reads the configuration afresh (file and environment, as at start-up; it
    // throws config::ConfigError). Without it SIGHUP is logged and ignored. Set before run().
    void on_reload(std::function<config::Config()> load_again);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace modelhost::net
