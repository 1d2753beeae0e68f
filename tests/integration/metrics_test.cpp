// <health.prefix>/metrics: counters that move with requests, the exposition format as promtool checks it, and a real
// Prometheus (Debian's) scraping modelhost.
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <thread>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

// The value of one sample line ("name{labels} value"); -1 when absent.
double sample(const std::string& exposition, const std::string& name_and_labels) {
    auto at = exposition.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return -1;
    return std::stod(exposition.substr(at + name_and_labels.size() + 2));
}

}  // namespace

TEST_CASE("metrics count responses by method, class and route, 304s, ranges and CORS refusals", "[metrics]") {
    TempDir root;
    root.write("m/model.json", "{}");
    root.write("private/a.bin", std::string(100, 'a'));
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["https://app.example"]},
                                  "routes": [{"path": "/private/**", "headers": {"X-Private": "1"}}]})");
    auto scrape = [&] {
        auto r = request(s.port(), "GET", "/.modelhost/metrics");
        REQUIRE(r.result_int() == 200);
        CHECK(r[bhttp::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
        CHECK(r[bhttp::field::cache_control] == "no-store");
        return "\n" + r.body();
    };
    // Counters belong to the process (every TestServer of this test binary adds to them): compare with a scrape taken
    // before this test's requests.
    const std::string before = scrape();
    auto delta = [&](const std::string& m, const std::string& name) {
        return sample(m, name) - std::max(0.0, sample(before, name));
    };
    auto etag = std::string(request(s.port(), "GET", "/m/model.json")[bhttp::field::etag]);
    for (int i = 0; i < 3; ++i) request(s.port(), "GET", "/m/model.json", "If-None-Match: " + etag + "\r\n");
    request(s.port(), "GET", "/private/a.bin", "Range: bytes=0-9\r\n");
    request(s.port(), "HEAD", "/private/a.bin");
    request(s.port(), "GET", "/m/missing.json", "Origin: https://evil.example\r\n");
    request(s.port(), "OPTIONS", "/m/model.json", "Origin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n"
                                                  "Access-Control-Request-Headers: X-Trace\r\n");
    std::string m = scrape();
    for (int i = 0; i < 40 && delta(m, R"(modelhost_response_duration_seconds_bucket{le="+Inf"})") < 9; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));  // a response is counted once written
        m = scrape();
    }
    CHECK(delta(m, R"(modelhost_responses_total{method="GET",code="2xx",route="top level"})") >= 1);  // + scrapes
    CHECK(delta(m, R"(modelhost_responses_total{method="GET",code="3xx",route="top level"})") == 3);
    CHECK(delta(m, R"(modelhost_responses_total{method="GET",code="4xx",route="top level"})") == 1);
    CHECK(delta(m, R"(modelhost_responses_total{method="OPTIONS",code="4xx",route="top level"})") == 1);
    CHECK(delta(m, R"(modelhost_responses_total{method="GET",code="2xx",route="/private/**"})") == 1);
    CHECK(delta(m, R"(modelhost_responses_total{method="HEAD",code="2xx",route="/private/**"})") == 1);
    CHECK(delta(m, "modelhost_not_modified_total") == 3);
    CHECK(delta(m, R"(modelhost_cache_lookups_total{cache="file",result="opened"})") >= 3);  // model.json, a.bin, missing
    CHECK(delta(m, R"(modelhost_cache_lookups_total{cache="file",result="remembered"})") +
              delta(m, R"(modelhost_cache_lookups_total{cache="file",result="checked"})") >= 4);  // the repeats
    CHECK(delta(m, R"(modelhost_cache_lookups_total{cache="headers",result="hit"})") >= 3);
    CHECK(delta(m, "modelhost_partial_content_total") == 1);
    CHECK(delta(m, R"(modelhost_cors_refusals_total{refused="origin"})") == 1);
    CHECK(delta(m, R"(modelhost_cors_refusals_total{refused="header"})") == 1);
    CHECK(delta(m, "modelhost_cors_preflights_total") == 1);
    CHECK(delta(m, R"(modelhost_response_body_bytes_total{route="/private/**"})") == 10);
    CHECK(delta(m, R"(modelhost_response_duration_seconds_bucket{le="+Inf"})") >= 8);
    CHECK(sample(m, "modelhost_connections_active") >= 1);
    CHECK(sample(m, "process_resident_memory_bytes") > 1e6);
    CHECK(sample(m, "process_open_fds") > 3);
    CHECK(sample(m, R"(modelhost_build_info{version="0.1.0"})") == 1);
    CHECK(m.find("/m/model.json") == std::string::npos);  // never a request path as a label
    // The scrape itself counts on a later one (once its response is written, possibly on another thread).
    double scrapes = 0;
    for (int i = 0; i < 40 && scrapes < 4; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        scrapes = delta(scrape(), R"(modelhost_responses_total{method="GET",code="2xx",route="top level"})");
    }
    CHECK(scrapes >= 4);  // the first GET and at least three scrapes
}

TEST_CASE("promtool accepts the exposition and a real Prometheus scrapes the request counter", "[metrics][prometheus]") {
    REQUIRE(std::filesystem::exists("/usr/bin/prometheus"));  // scripts/deps installs Debian's prometheus
    TempDir root;
    root.write("demo/model.json", "{}");
    TestServer s(root.path());
    for (int i = 0; i < 5; ++i) request(s.port(), "GET", "/demo/model.json");
    auto exposition = request(s.port(), "GET", "/.modelhost/metrics").body();
    root.write("metrics.txt", exposition);
    auto [checked, why] = run_command({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + (root.path() / "metrics.txt").string() + "'"});
    INFO(why);
    CHECK(checked == 0);

    auto prometheus_port = unused_port();
    auto config = root.write("prometheus.yml", "global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: modelhost\n"
                                               "    metrics_path: /.modelhost/metrics\n    static_configs:\n"
                                               "      - targets: ['127.0.0.1:" + std::to_string(s.port()) + "']\n");
    Process prometheus({"/usr/bin/prometheus", "--config.file=" + config.string(),
                        "--storage.tsdb.path=" + (root.path() / "tsdb").string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)});
    std::string value;
    for (int i = 0; i < 120 && value.empty(); ++i) {  // up to 30 s: start-up plus a scrape or two
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        try {
            auto r = request(prometheus_port, "GET", "/api/v1/query?query=modelhost_responses_total%7Bcode%3D%222xx%22%7D");
            auto doc = nlohmann::json::parse(r.body(), nullptr, false);
            if (doc.is_object() && doc.value("status", "") == "success" && !doc["data"]["result"].empty())
                value = doc["data"]["result"][0]["value"][1].get<std::string>();
        } catch (const std::exception&) {
        }
    }
    INFO(prometheus.output());
    REQUIRE_FALSE(value.empty());
    CHECK(std::stod(value) >= 5);
}
