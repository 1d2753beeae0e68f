// The in-process server fixture: a net::Server on port 0, configured by inline JSON.
#include "http_client.hpp"

#include "config/load.hpp"
#include "log/logging.hpp"
#include "net/server.hpp"

#include <nlohmann/json.hpp>

namespace modelhost::test {

TestServer::TestServer(const std::filesystem::path& root, const std::string& config_json) {
    auto doc = nlohmann::json::parse(config_json);
    auto& server = doc["server"];
    if (!server.contains("root")) server["root"] = root.string();
    if (!server.contains("host")) server["host"] = "127.0.0.1";
    if (!server.contains("port")) server["port"] = 0;
    if (!server.contains("threads")) server["threads"] = 2;
    if (!doc.contains("log")) doc["log"] = {{"level", "warn"}, {"access_log", false}};
    auto file = config_dir_.write("modelhost.json", doc.dump(2));

    config::LoadInput in;
    in.file = file.string();
    auto cfg = config::load(in);
    log::setup(cfg.log);
    server_ = std::make_unique<net::Server>(cfg);
    port_ = server_->port();
    thread_ = std::thread([this] { server_->run(); });
}

void TestServer::begin_shutdown() { server_->stop(); }

TestServer::~TestServer() {
    server_->stop();
    thread_.join();
}

}  // namespace modelhost::test
