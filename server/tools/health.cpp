// One GET with a 3-second budget; the URL defaults to this server's own config (file + MODELHOST_* env), over HTTPS
// when tls is configured, trusting the configured certificate itself.
#include "tools/health.hpp"

#include "base/args.hpp"
#include "config/load.hpp"
#include "client/http_client.hpp"
#include "http/endpoint_paths.hpp"

#include <chrono>
#include <cstdio>

namespace modelhost::tools {

using namespace client;  // the HTTP client (client/http_client.hpp) the tools share with mirrors

config::Config configured_server(const std::optional<std::string>& file) {
    config::LoadInput in;
    config::use_process_environment(in);
    in.file = file ? file : in.getenv("MODELHOST_CONFIG");
    in.check_files = false;
    return config::load(in);
}

std::string local_base_url(const config::Config& cfg) {
    const std::string& h = cfg.server.host;
    std::string host = h == "0.0.0.0" ? "127.0.0.1" : h == "::" ? "[::1]" : h;
    if (host.find(':') != std::string::npos && !host.starts_with('[')) host = "[" + host + "]";
    std::string scheme = cfg.tls.cert_file.empty() ? "http://" : "https://";
    return scheme + host + ":" + std::to_string(cfg.server.port);
}

namespace {

int probe(const HttpUrl& url, ClientOptions options) {
    options.idle_seconds = 3;
    options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    options.user_agent = "modelhost-health";
    try {
        HttpResponse r = http_request(url, "GET", {}, true, options);
        std::printf("%s: %u %s", url.text.c_str(), r.status, r.body.c_str());
        if (!r.body.ends_with('\n')) std::printf("\n");
        return r.status == 200 ? 0 : 1;
    } catch (const HttpError& e) {
        std::fprintf(stderr, "modelhost health: %s\n", e.what());
        return 1;
    }
}

void print_help() {
    std::printf(
        "Usage: modelhost health [--url URL] [--config FILE]\n\n"
        "GETs URL and exits 0 on 200, 1 otherwise (2: bad usage or config), within about 3 seconds.\n"
        "Meant for a container HEALTHCHECK. The default URL is the configured server's\n"
        "<health.prefix>/healthz on server.port (loopback for 0.0.0.0 and ::), https:// when tls is\n"
        "configured. Over HTTPS the configured tls.cert_file is trusted as it is (any name, any issuer),\n"
        "besides the system's CA store. The configuration is read as serve reads it (--config FILE or\n"
        "MODELHOST_CONFIG, then MODELHOST_* variables); server.root is not looked at.\n");
}

}  // namespace

int health_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("health", args, {{"--url", true}, {"--config", true}}, 0);
    if (!parsed.error.empty()) return usage_error("health", parsed.error);
    if (parsed.help) {
        print_help();
        return 0;
    }
    auto given = parsed.value("--url");
    std::optional<HttpUrl> url;
    if (given && !(url = parse_http_url(*given)))
        return usage_error("health", "--url \"" + *given + "\" is not an http:// or https:// URL");
    ClientOptions options;
    try {
        config::Config cfg = configured_server(parsed.value("--config"));
        options.trusted_cert = cfg.tls.cert_file;
        if (!url && !(url = parse_http_url(local_base_url(cfg) + http::endpoint_paths(cfg.health.prefix).healthz))) {
            std::fprintf(stderr, "modelhost health: server.host \"%s\" gives no URL to probe; pass --url\n", cfg.server.host.c_str());
            return 2;
        }
    } catch (const config::ConfigError& e) {
        if (!url) {  // with --url the configuration only adds a certificate to trust
            std::fprintf(stderr, "modelhost health: config error: %s\n", e.what());
            return 2;
        }
    }
    return probe(*url, options);
}

}  // namespace modelhost::tools
