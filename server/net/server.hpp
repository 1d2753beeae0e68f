// The listening server: acceptors, worker threads, signals and graceful shutdown.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>

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

    // Serves until stop(), or a caught signal and the drain that follows.
    void run();

    // Starts a graceful shutdown from any thread.
    void stop();

    // How SIGHUP reloads: `load_again` reads the configuration afresh (file and environment, as at start-up; it
    // throws config::ConfigError). Without it SIGHUP is logged and ignored. Set before run().
    void on_reload(std::function<config::Config()> load_again);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace modelhost::net
