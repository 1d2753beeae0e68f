// The pid file says which process to signal; the metrics endpoint says what the reload did.
#include "tools/reload.hpp"

#include "base/args.hpp"
#include "config/load.hpp"
#include "tools/health.hpp"
#include "client/http_client.hpp"
#include "http/endpoint_paths.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

namespace modelhost::tools {

using namespace client;  // the HTTP client (client/http_client.hpp) the tools share with mirrors

namespace {

struct Counts {
    double generation = -1, refused = -1;  // -1: not read
};

double sample(const std::string& exposition, const std::string& name_and_labels) {
    auto at = exposition.find("\n" + name_and_labels + " ");
    return at == std::string::npos ? -1 : std::atof(exposition.c_str() + at + name_and_labels.size() + 2);
}

Counts read_counts(const config::Config& cfg) {
    auto url = parse_http_url(local_base_url(cfg) + http::endpoint_paths(cfg.health.prefix).metrics);
    if (!url) return {};
    ClientOptions options;
    options.idle_seconds = 3;
    options.trusted_cert = cfg.tls.cert_file;
    options.user_agent = "modelhost-reload";
    try {
        std::string body(1, '\n');  // so every sample line starts after a newline
        body += http_request(*url, "GET", {}, true, options).body;
        return {sample(body, "modelhost_config_generation"), sample(body, "modelhost_reloads_total{result=\"failure\"}")};
    } catch (const HttpError&) {
        return {};
    }
}

// The process id in `path`; 0 (after saying why) when there is none to signal.
pid_t read_pid(const std::string& path) {
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) {
        std::fprintf(stderr, "modelhost reload: %s holds no process id (is the server running?)\n", path.c_str());
        return 0;
    }
    if (::kill(static_cast<pid_t>(pid), 0) != 0) {
        std::fprintf(stderr, "modelhost reload: process %ld from %s: %s\n", pid, path.c_str(), std::strerror(errno));
        return 0;
    }
    return static_cast<pid_t>(pid);
}

// Waits up to 5 s for the metrics to show the outcome: 0 taken, 1 refused, 2 unknown.
int outcome(const config::Config& cfg, const Counts& before) {
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        Counts now = read_counts(cfg);
        if (now.generation > before.generation) {
            std::printf("reloaded: configuration generation %.0f is in force\n", now.generation);
            return 0;
        }
        if (now.refused > before.refused) {
            std::printf("refused: the server keeps its previous configuration; its log says why\n");
            return 1;
        }
    }
    return 2;
}

}  // namespace

int reload_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("reload", args, {{"--config", true}}, 0);
    if (!parsed.error.empty()) return usage_error("reload", parsed.error);
    if (parsed.help) {
        std::printf("Usage: modelhost reload [--config FILE]\n\n"
                    "Sends SIGHUP to the server whose process id server.pid_file holds (the configuration is read as\n"
                    "serve reads it: --config FILE or MODELHOST_CONFIG, then MODELHOST_* variables), then reads its\n"
                    "<health.prefix>/metrics to say whether the new configuration was taken or refused.\n"
                    "Without a pid file, send the signal yourself: systemctl reload modelhost, docker kill -s HUP NAME,\n"
                    "or kill -HUP PID.\n\n"
                    "Exit codes: 0 reloaded (or signalled, when the metrics cannot be read), 1 refused or no server,\n"
                    "2 bad usage or configuration.\n");
        return 0;
    }
    config::Config cfg;
    try {
        cfg = configured_server(parsed.value("--config"));
    } catch (const config::ConfigError& e) {
        std::fprintf(stderr, "modelhost reload: config error: %s\n", e.what());
        return 2;
    }
    if (cfg.server.pid_file.empty())
        return usage_error("reload", "server.pid_file is not set, so there is no server to find; set it (MODELHOST_PID_FILE) "
                                     "or send SIGHUP yourself (systemctl reload modelhost, docker kill -s HUP NAME)");
    pid_t pid = read_pid(cfg.server.pid_file);
    if (pid == 0) return 1;
    Counts before = read_counts(cfg);
    if (::kill(pid, SIGHUP) != 0) {
        std::fprintf(stderr, "modelhost reload: cannot signal process %d: %s\n", pid, std::strerror(errno));
        return 1;
    }
    int result = before.generation < 0 ? 2 : outcome(cfg, before);
    if (result == 2) std::printf("sent SIGHUP to process %d; its log says whether the configuration was taken\n", pid);
    return result == 2 ? 0 : result;
}

}  // namespace modelhost::tools
