// One blocking GET with a 3-second budget; the URL defaults to this server's own config (file + MODELHOST_* env).
#include "tools/health.hpp"

#include "base/args.hpp"

#include "config/load.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <cstdio>
#include <sys/socket.h>

namespace modelhost::tools {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// The healthz URL of the server this environment configures (wildcard hosts are probed on loopback).
std::string default_url() {
    config::LoadInput in;
    config::use_process_environment(in);
    if (auto file = in.getenv("MODELHOST_CONFIG")) in.file = *file;
    config::Config cfg = config::load(in);
    std::string host = cfg.server.host == "0.0.0.0" ? "127.0.0.1" : cfg.server.host == "::" ? "[::1]" : cfg.server.host;
    if (host.find(':') != std::string::npos && !host.starts_with('[')) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(cfg.server.port) + cfg.health.prefix + "/healthz";
}

int probe(const std::string& url) {
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u || u->scheme() != "http") {
        std::fprintf(stderr, "modelhost health: \"%s\" is not an http:// URL\n", url.c_str());
        return 2;
    }
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    std::string host(u->host_address());
    if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
    std::string port = u->has_port() ? std::string(u->port()) : "80";
    boost::system::error_code ec;
    auto endpoints = asio::ip::tcp::resolver(ioc).resolve(host, port, ec);
    if (!ec) asio::connect(socket, endpoints, ec);
    if (ec) {
        std::fprintf(stderr, "modelhost health: %s: %s\n", url.c_str(), ec.message().c_str());
        return 1;
    }
    timeval tv{3, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string target(u->encoded_target().empty() ? "/" : u->encoded_target());
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, u->encoded_host_and_port());
    req.set(bhttp::field::connection, "close");
    bhttp::write(socket, req, ec);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    if (!ec) bhttp::read(socket, buffer, res, ec);
    if (ec) {
        std::fprintf(stderr, "modelhost health: %s: %s\n", url.c_str(), ec.message().c_str());
        return 1;
    }
    std::printf("%s: %u %s", url.c_str(), res.result_int(), res.body().c_str());
    return res.result_int() == 200 ? 0 : 1;
}

}  // namespace

int health_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("health", args, {{"--url", true}}, 0);
    if (!parsed.error.empty()) return usage_error("health", parsed.error);
    if (parsed.help) {
        std::printf(
            "Usage: modelhost health [--url URL]\n\n"
            "GETs URL (default: this configuration's <health.prefix>/healthz on server.port, loopback for\n"
            "0.0.0.0) and exits 0 on 200, 1 otherwise, within about 3 seconds. Meant for Docker HEALTHCHECK.\n");
        return 0;
    }
    std::string url = parsed.value("--url").value_or("");
    if (url.empty()) {
        try {
            url = default_url();
        } catch (const config::ConfigError& e) {
            std::fprintf(stderr, "modelhost health: config error: %s\n", e.what());
            return 2;
        }
    }
    return probe(url);
}

}  // namespace modelhost::tools
