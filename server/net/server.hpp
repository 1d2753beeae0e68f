// The listening server: acceptors, worker threads and graceful shutdown. It handles no signal: the binary maps
// SIGTERM/SIGINT onto stop() and SIGHUP onto reload() (app/serve.cpp); an app embedding it does as it likes.
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

    // Serves until stop(), or a caught signal and the drain that follows, on the calling thread (loop 0) and
    // server.threads - 1 more, which it joins before returning. Lines go to the log context current at construction
    // (log::Use). SIGPIPE is blocked on these threads while they serve, never ignored process-wide.
    void run();

    // Starts a graceful shutdown from any thread: no new connections; those open finish for up to `grace` seconds
    // (server.shutdown_timeout when not given), then close. `why` starts its log line. Before run(), it happens once
    // run() runs. A second call with a shorter grace moves the deadline nearer.
    void stop(std::optional<double> grace = std::nullopt, std::string why = "stop requested");
    // Whether stop() was called (a drain is under way or done).
    bool stopping() const;
    // Reads the configuration again with on_reload's function and swaps it in, as reload(next) does; false when it
    // was refused (logged), when the server is stopping, or without on_reload. Any thread.
    bool reload();

    // Swaps in `next` as SIGHUP would (the policy, the TLS context, the log settings; restart-only settings are
    // kept and named), from any thread. False, with `error` saying why, when it is refused: the running one stays.
    bool reload(const config::Config& next, std::string& error);

    // How reload() reads the configuration again: `load_again` reads it afresh (file and environment, as at
    // start-up; it throws config::ConfigError). Without it reload() is logged and refused. Set before run().
    void on_reload(std::function<config::Config()> load_again);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace modelhost::net
