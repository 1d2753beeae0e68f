// A root of thousands of models, over real sockets: the status page stays a page (the first rows, then a count and a
// pointer to /v1/models), /metrics counts every model from the catalog's summary, and reloads that leave the root as
// it was start no new scan (modelhost_catalog_scans_total).
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <thread>

using namespace modelhost::test;

namespace {

const std::string binary = MODELHOST_BINARY;

// `count` small TF.js models, "m0000" up, each a manifest and its 16-byte shard.
void write_models(TempDir& root, int count, const std::string& prefix = "m") {
    const std::string manifest = R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":)"
                                 R"(["group1-shard1of1.bin"],"weights":[{"name":"k","shape":[2,2],"dtype":"float32"}]}]})";
    for (int i = 0; i < count; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "%s%04d", prefix.c_str(), i);
        root.write(std::string(name) + "/model.json", manifest);
        root.write(std::string(name) + "/group1-shard1of1.bin", std::string(16, '\x01'));
    }
}

// One sample of the exposition, as a number; nothing when the line is absent.
std::optional<double> sample(const std::string& exposition, const std::string& series) {
    const std::regex line("(^|\n)" + std::regex_replace(series, std::regex(R"([{}"\\])"), R"(\$&)") + " ([0-9.e+]+)");
    std::smatch m;
    if (!std::regex_search(exposition, m, line)) return std::nullopt;
    return std::stod(m[2]);
}

std::string metrics(std::uint16_t port) { return request(port, "GET", "/.modelhost/metrics").body(); }

// Polls /metrics until `series` reads `value` (the scan runs off the I/O threads); up to 60 s.
bool metric_becomes(std::uint16_t port, const std::string& series, double value) {
    for (int i = 0; i < 600; ++i) {
        if (sample(metrics(port), series) == value) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

const std::string first_scans = R"(modelhost_catalog_scans_total{scan="first"})";
const std::string models_ok = R"(modelhost_models{format="tfjs",state="ok"})";

}  // namespace

TEST_CASE("with 3,000 models the status page shows 200 and counts the rest, and /metrics and /v1/models count all", "[models][metrics][scale]") {
    TempDir root;
    write_models(root, 3000);
    Process server({binary, "--root", root.path().string(), "--port", "0"});
    const auto port = server.wait_for_port();
    REQUIRE(port != 0);
    REQUIRE(metric_becomes(port, models_ok, 3000));

    const std::string exposition = metrics(port);
    CHECK(sample(exposition, R"(modelhost_models{format="tfjs",state="broken"})") == 0.0);
    CHECK(sample(exposition, first_scans) == 1.0);

    auto page = request(port, "GET", "/");
    CHECK(page.result_int() == 200);
    CHECK_THAT(page.body(), Catch::Contains("3000 model(s)"));
    CHECK_THAT(page.body(), Catch::Contains("And 2800 more model(s), not shown here"));
    CHECK_THAT(page.body(), Catch::Contains("/m0000/model.json"));
    CHECK_THAT(page.body(), Catch::Contains("/m0199/model.json"));
    CHECK_THAT(page.body(), !Catch::Contains("/m0200/model.json"));
    CHECK(page.body().size() < 200'000);  // a page, whatever the root holds (854 KB for 3,000 models when it listed all)

    auto listed = nlohmann::json::parse(request(port, "GET", "/v1/models").body());
    REQUIRE(listed.contains("models"));
    CHECK(listed["models"].size() == 3000);

    // Pages and scrapes read the summary: none of them scans the root again.
    for (int i = 0; i < 20; ++i) {
        CHECK(request(port, "GET", "/").result_int() == 200);
        CHECK(request(port, "GET", "/.modelhost/metrics").result_int() == 200);
    }
    CHECK(sample(metrics(port), first_scans) == 1.0);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

TEST_CASE("20 reloads with the root unchanged start no new catalog scan, and a new root does", "[models][metrics][reload]") {
    TempDir root, other, conf;
    write_models(root, 300);
    write_models(other, 7, "n");
    auto write_config = [&](const std::string& served, int edition) {
        conf.write("c.json", R"({"server": {"root": ")" + served + R"("}, "headers": {"X-Edition": ")" +
                                 std::to_string(edition) + R"("}})");
    };
    write_config(root.path().string(), 0);
    Process server({binary, "--config", (conf.path() / "c.json").string(), "--port", "0"});
    const auto port = server.wait_for_port();
    REQUIRE(port != 0);
    REQUIRE(metric_becomes(port, models_ok, 300));
    REQUIRE(sample(metrics(port), first_scans) == 1.0);

    for (int i = 1; i <= 20; ++i) {  // each a real reload: a header changes, the root does not
        write_config(root.path().string(), i);
        server.signal(SIGHUP);
        for (int tries = 0; tries < 100 && request(port, "GET", "/m0000/model.json")["X-Edition"] != std::to_string(i); ++tries)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        INFO("reload " << i);
        REQUIRE(request(port, "GET", "/m0000/model.json")["X-Edition"] == std::to_string(i));
    }
    const std::string after = metrics(port);
    CHECK(sample(after, R"(modelhost_reloads_total{result="success"})") == 20.0);
    CHECK(sample(after, first_scans) == 1.0);
    CHECK(sample(after, models_ok) == 300.0);  // the catalog in force throughout, not a new one being built

    write_config(other.path().string(), 21);
    server.signal(SIGHUP);
    CHECK(metric_becomes(port, models_ok, 7));
    CHECK(sample(metrics(port), first_scans) == 2.0);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}
