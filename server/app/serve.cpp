// Flags -> layered config -> Server, with the start-up log lines an operator needs.
#include "app/serve.hpp"

#include "base/args.hpp"
#include "base/text.hpp"

#include "config/load.hpp"
#include "fs/durable.hpp"
#include "log/logging.hpp"
#include "models/catalog.hpp"
#include "net/server.hpp"
#include "version.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cstring>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <thread>

namespace modelhost::app {

void print_serve_help() {
    std::printf(
        "Usage: modelhost serve [--config FILE] [--root DIR] [--host H] [--port N] [--threads N]\n"
        "                       [--allow-origin ORIGIN]... [--log-level LEVEL]\n\n"
        "Serves the model folder DIR over HTTP/1.1 and HTTP/2 (h2 over TLS; h2c with http2.cleartext) with the\n"
        "configured CORS and caching headers.\n\n"
        "Options (each overrides the config file and the environment):\n"
        "  --config FILE         JSON config file (see config/modelhost.json); also MODELHOST_CONFIG\n"
        "  --root DIR            folder to serve (server.root, default \"models\")\n"
        "  --host H              address to listen on (server.host, default 127.0.0.1; 0.0.0.0 for all)\n"
        "  --port N              port to listen on, 0 = any free port (server.port, default 8080)\n"
        "  --threads N           worker threads, 0 = one per core (server.threads)\n"
        "  --allow-origin O      allowed CORS origin, repeatable; replaces cors.allow_origins\n"
        "  --log-level LEVEL     trace, debug, info, warn, error, critical or off (log.level)\n"
        "  -h, --help            show this help\n\n"
        "Environment (between the config file and the flags in precedence):\n");
    std::printf("  %-40s %s\n", "MODELHOST_CONFIG", "the config file (like --config)");
    for (const auto& s : config::settings())
        if (s.env) std::printf("  %-40s %s (%s)\n", s.env, s.key, s.kind);
    std::printf("\nLists in the environment are comma separated: MODELHOST_ALLOW_ORIGINS=https://a.com,https://b.com\n"
                "\nSignals: SIGTERM or SIGINT drain and exit (a second one exits at once); SIGHUP reloads the config file\n"
                "and environment without dropping connections. A changed tls.cert_file/key_file is loaded by itself.\n");
}

namespace {

// Reads the flags (every setting with a flag, and --config) into `in`; false (after printing why) on bad usage.
bool parse_flags(const std::vector<std::string>& args, config::LoadInput& in, bool& help) {
    std::vector<OptionSpec> specs{{"--config", true}};
    for (const auto& s : config::settings())
        if (s.flag) specs.push_back({s.flag, true});
    ParsedArgs parsed = parse_args("serve", args, specs, 0);
    if (!parsed.error.empty()) return usage_error("serve", parsed.error), false;
    help = parsed.help;
    for (const auto& [flag, value] : parsed.options) {
        if (flag == "--config") in.file = value;
        else in.flags.push_back({flag, value});
    }
    return true;
}

void log_startup(const config::Config& cfg, std::uint16_t port) {
    unsigned threads = cfg.server.worker_threads();
    std::error_code ec;
    auto root = std::filesystem::canonical(cfg.server.root, ec);
    std::string origins = join(cfg.cors.allow_origins, " ");
    bool v6 = cfg.server.host.find(':') != std::string::npos;
    spdlog::info("modelhost {} serving {} at {}://{}{}{}:{} with {} thread(s); CORS allow_origins=[{}] credentials={} routes={}",
                 version, ec ? cfg.server.root : root.string(), cfg.tls.enabled() ? "https" : "http", v6 ? "[" : "",
                 cfg.server.host, v6 ? "]" : "", port,
                 threads, origins, cfg.cors.allow_credentials ? "on" : "off", cfg.routes.size());
    // One line per file, env var or flag, naming only what it set away from the default.
    std::map<std::string, std::vector<std::string>> set_by;
    for (const auto& [key, source] : cfg.sources) set_by[source].push_back(key);
    std::map<std::string, std::string> by_source;
    for (const auto& [source, keys] : set_by)
        if (auto changed = config::not_default(cfg, keys); !changed.empty()) by_source[source] = join(changed, ", ");
    for (const auto& [source, keys] : by_source) spdlog::info("settings from {}: {}", source, keys);
    for (const auto& w : cfg.warnings) spdlog::warn("{}", w);
}

// One line on what the root holds, and one warning per problem of a broken model (still served as files).
void log_catalog(const config::Config& cfg) {
    models::Catalog c = models::scan(cfg.server.root);
    std::size_t broken = 0;
    for (const auto& m : c.models) {
        if (m.ok()) continue;
        ++broken;
        for (const auto& p : m.problems) spdlog::warn("model {} is broken: {}", m.name, p);
    }
    std::string counts;
    for (const char* f : models::format::all)
        if (auto [ok, bad] = c.count(f); ok + bad > 0)
            counts += (counts.empty() ? "" : ", ") + std::to_string(ok + bad) + " " + f + (bad ? " (" + std::to_string(bad) + " broken)" : "");
    spdlog::info("catalog: {} model(s){}{}; {} runtime package(s); GET /v1/models for details", c.models.size(),
                 counts.empty() ? "" : ": ", counts, c.runtimes.size());
    if (c.models.empty() && c.runtimes.empty() && c.assets.empty())
        spdlog::warn("server.root \"{}\" holds no model (TF.js, ONNX, transformers.js, MediaPipe, TFLite, WebLLM) and no "
                     "runtime package: is it the folder you meant? (modelhost fetch URL --root DIR mirrors one)", cfg.server.root);
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(cfg.server.root) / "v1/models", ec))
        spdlog::warn("server.root holds v1/models, which is never served: GET /v1/models answers with the catalog; "
                     "rename that folder or file");
}

// The soft descriptor limit up to the hard one: a server holds one per connection (net::Server warns when
// limits.max_connections still cannot fit).
void raise_descriptor_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
    rlimit raised{lim.rlim_max, lim.rlim_max};
    ::setrlimit(RLIMIT_NOFILE, &raised);
}

// SIGINT and SIGTERM drain the server (a second one exits at once), SIGHUP reloads it. The signals are blocked on
// every thread from construction on (so before the server's threads start: they inherit the mask), and taken by a
// thread of the binary's own: the server itself handles none (net/server.hpp), as a library must not.
class Signals {
public:
    Signals() {
        sigemptyset(&set_);
        for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, s);
        pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    }
    // Takes the signals for `server` until the returned thread is destroyed (before the server: declare it after).
    // A signal that came before is taken now.
    std::jthread watch(net::Server& server) {
        return std::jthread([this, &server](std::stop_token stop) { take(server, stop); });
    }

private:
    void take(net::Server& server, const std::stop_token& stop) const {
        const timespec tick{0, 100'000'000};  // how soon the thread sees `stop`
        bool draining = false;  // (server.stopping() turns true only once loop 0 has run the stop)
        while (!stop.stop_requested()) {
            const int signo = sigtimedwait(&set_, nullptr, &tick);
            if (signo < 0) continue;  // the tick (EAGAIN), or EINTR
            if (signo == SIGHUP) {  // reload; never stops the node, whatever the new configuration says
                if (!draining) server.reload();
                continue;
            }
            if (draining) {
                spdlog::warn("second signal ({}): exiting now", signo);
                log::flush();
                std::_Exit(128 + signo);
            }
            draining = true;
            server.stop(std::nullopt, signo == SIGINT ? "SIGINT" : "SIGTERM");
        }
    }

    sigset_t set_;
};

}  // namespace

// server.pid_file for the server's lifetime: written once the listeners are bound (through a temporary name, so a
// failed write leaves nothing), removed at exit.
class PidFile {
public:
    explicit PidFile(std::string path) : path_(std::move(path)) {
        if (path_.empty()) return;
        try {  // whole or not there: `modelhost reload` never reads an empty or torn file (fs/durable.hpp)
            fs::write_atomically(path_, std::to_string(::getpid()) + "\n");
        } catch (const std::system_error& e) {
            std::remove(path_.c_str());  // in place when only the folder's sync failed: no file of a server that is not running
            throw net::StartupError("server.pid_file: cannot write \"" + path_ + "\": " + e.code().message() +
                                    fs::advice(e.code().value()));
        }
    }
    ~PidFile() {
        if (!path_.empty()) std::remove(path_.c_str());
    }
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

private:
    std::string path_;
};

int serve(const std::vector<std::string>& args) {
    config::LoadInput in;
    bool help = false;
    if (!parse_flags(args, in, help)) return 2;
    if (help) {
        print_serve_help();
        return 0;
    }
    config::use_process_environment(in);
    if (!in.file) {
        if (auto env_file = in.getenv("MODELHOST_CONFIG")) in.file = *env_file;
    }
    try {
        Signals signals;  // before any thread starts (spdlog's flusher, the catalog's, the server's): they inherit it
        config::Config cfg = config::load(in);
        log::setup(cfg.log);
        raise_descriptor_limit();
        net::Server server(cfg);
        server.on_reload([in] { return config::load(in); });  // SIGHUP: the same file, environment and flags
        std::jthread taking_signals = signals.watch(server);  // before the server is announced: a signal is never fatal
        PidFile pid_file(cfg.server.pid_file);
        log_catalog(cfg);
        log_startup(cfg, server.port());
        server.run();
        log::flush();
        return 0;
    } catch (const config::ConfigError& e) {
        std::fprintf(stderr, "modelhost: config error: %s\n", e.what());
    } catch (const net::StartupError& e) {
        std::fprintf(stderr, "modelhost: cannot start: %s\n", e.what());
    } catch (const std::system_error& e) {  // a file the server makes at start (the mirror store's) cannot be
        std::fprintf(stderr, "modelhost: cannot start: %s%s\n", e.what(), fs::advice(e.code().value()).c_str());
    }
    return 2;
}

}  // namespace modelhost::app
