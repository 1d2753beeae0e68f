// GET /v1/models over real sockets: the catalog with sha256 per file, following changes to the tree.
#include "catch.hpp"

#include "digests.hpp"
#include "http_client.hpp"

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <thread>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {


// GET /v1/models once the catalog (built off the I/O threads) is there, and `ready` accepts it; waits up to 5 s.
nlohmann::json models_when(std::uint16_t port, const std::function<bool(const nlohmann::json&)>& ready) {
    nlohmann::json doc;
    for (int i = 0; i < 100; ++i) {
        auto r = request(port, "GET", "/v1/models");
        if (r.result_int() == 200) {
            doc = nlohmann::json::parse(r.body());
            if (ready(doc)) return doc;
        } else {
            REQUIRE(r.result_int() == 503);  // only while the first scan runs
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return doc;
}

nlohmann::json models(std::uint16_t port) {
    return models_when(port, [](const nlohmann::json&) { return true; });
}

const std::string manifest = R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"k","shape":[4,4],"dtype":"float32"}]}]})";

}  // namespace

TEST_CASE("/v1/models lists a model.json cut short as broken, with where it stops", "[models]") {
    TempDir root;
    root.write("good/model.json", manifest);
    root.write("good/group1-shard1of1.bin", std::string(64, '\x05'));
    root.write("face/model.json", manifest.substr(0, 40));
    TestServer s(root.path());
    auto doc = models_when(s.port(), [](const nlohmann::json& d) { return d["models"].size() == 2; });
    REQUIRE(doc["models"].size() == 2);
    CHECK(doc["models"][0]["name"] == "face");
    CHECK(doc["models"][0]["status"] == "broken");
    CHECK_THAT(doc["models"][0].dump(), Catch::Contains("cut short"));
    CHECK(doc["models"][1]["status"] == "ok");
}

TEST_CASE("/v1/models lists each model with URLs, sizes, sha256 and status, and follows the tree", "[models]") {
    TempDir root;
    const std::string shard(64, '\x05');
    root.write("face mesh/model.json", manifest);
    root.write("face mesh/group1-shard1of1.bin", shard);
    root.write("mp/face_landmarker.binarypb", "graph");  // a MediaPipe graph: an asset, not a model
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["http://localhost:5173"]}})");

    models(s.port());  // the first scan is done
    auto r = request(s.port(), "GET", "/v1/models", "Origin: http://localhost:5173\r\n");
    REQUIRE(r.result_int() == 200);
    CHECK(r[bhttp::field::content_type] == "application/json");
    CHECK(r[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    auto doc = nlohmann::json::parse(r.body());
    REQUIRE(doc["models"].size() == 1);
    const auto& m = doc["models"][0];
    CHECK(m["name"] == "face mesh");
    CHECK(m["url"] == "/face%20mesh/model.json");
    CHECK(m["status"] == "ok");
    CHECK(m["total_bytes"] == manifest.size() + shard.size());
    REQUIRE(m["files"].size() == 2);
    CHECK(m["files"][1]["path"] == "face mesh/group1-shard1of1.bin");
    CHECK(m["files"][1]["sha256"] == sha256_hex(shard));
    CHECK(m["files"][0]["sha256"] == sha256_hex(manifest));
    CHECK(doc["assets"][0]["path"] == "mp/face_landmarker.binarypb");

    // Cut the shard short: the model is reported broken (after the catalog's one-second refresh) but still served.
    root.write("face mesh/group1-shard1of1.bin", shard.substr(0, 10));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto again = models_when(s.port(), [](const nlohmann::json& d) { return d["models"][0]["status"] == "broken"; });
    CHECK(again["models"][0]["status"] == "broken");
    CHECK(again["models"][0]["problems"][0].get<std::string>().find("holds 10 bytes, the manifest needs 64") != std::string::npos);
    CHECK(again["models"][0]["files"][1]["sha256"] == sha256_hex(shard.substr(0, 10)));
    CHECK(request(s.port(), "GET", "/face%20mesh/group1-shard1of1.bin").result_int() == 200);
}

TEST_CASE("malformed model.json files of every JSON type are listed broken, serving and other models are unaffected", "[models]") {
    TempDir root;
    root.write("good/model.json", manifest);
    root.write("good/group1-shard1of1.bin", std::string(64, '\x05'));
    const std::vector<std::string> bad = {
        R"({"format":1,"weightsManifest":[]})",
        R"({"weightsManifest":[1, "x", null, true, {"paths": 3, "weights": []}]})",
        R"({"weightsManifest":[{"paths":[7, null, "/etc/passwd", "../../x"],"weights":[1, {"name": 5, "shape": "no"}]}]})",
        R"({"weightsManifest":[{"paths":[],"weights":[{"name":"w","shape":[-1, 3],"dtype":"float32"}]}]})",
        R"({"weightsManifest":[{"paths":[],"weights":[{"name":"w","shape":[4294967296, 4294967296, 16],"dtype":"float32"}]}]})",
        R"({"weightsManifest":[{"paths":["s.bin"],"weights":[{"name":"w","shape":[1000000000000],"dtype":"string"}]}]})",
        R"({"weightsManifest":[{"paths":["s.bin"],"weights":[{"name":"w","shape":[3],"dtype":{"x":1},"quantization":7}]}]})",
        R"({"modelTopology": 5, "weightsManifest": {"a": 1}})",
        R"({"modelTopology": {"node": []}, "weightsManifest": [[[[[[[[[[]]]]]]]]]], "format": ["graph"]})",
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        root.write("bad" + std::to_string(i) + "/model.json", bad[i]);
        root.write("bad" + std::to_string(i) + "/s.bin", std::string(16, '\0'));
    }
    root.write("notjson/model.json", "{\"weightsManifest\": [");  // not even JSON (cut short): listed broken too
    std::filesystem::create_directory_symlink(root.path(), root.path() / "loop");  // a loop: never followed
    TestServer s(root.path());

    auto doc = models(s.port());
    REQUIRE(doc["models"].size() == bad.size() + 2);
    std::size_t broken = 0;
    for (const auto& m : doc["models"]) {
        INFO(m.dump());
        if (m["name"] == "good") {
            CHECK(m["status"] == "ok");
        } else {
            CHECK(m["status"] == "broken");
            CHECK_FALSE(m["problems"].empty());
            ++broken;
        }
    }
    CHECK(broken == bad.size() + 1);
    CHECK(request(s.port(), "GET", "/good/group1-shard1of1.bin").result_int() == 200);
    CHECK(request(s.port(), "GET", "/bad0/model.json").result_int() == 200);
}

TEST_CASE("/v1/models lists no hidden file and nothing through a symlink that leaves the root", "[models]") {
    TempDir outside;
    outside.write("m/model.json", manifest);
    outside.write("m/group1-shard1of1.bin", std::string(64, '\x05'));
    TempDir root;
    root.write(".hidden/model.json", manifest);
    root.write("in/model.json", manifest);
    root.write("in/group1-shard1of1.bin", std::string(64, '\x05'));
    std::filesystem::create_symlink(outside.path() / "m/model.json", root.path() / "in/outside.json");
    std::filesystem::create_directory_symlink(outside.path() / "m", root.path() / "linked");
    TestServer s(root.path());
    auto doc = models(s.port());
    REQUIRE(doc["models"].size() == 1);
    CHECK(doc["models"][0]["name"] == "in");
}

TEST_CASE("/v1/models is answered under the route policy of its path", "[models]") {
    TempDir root;
    root.write("m/model.json", manifest);
    root.write("m/group1-shard1of1.bin", std::string(64, '\x05'));
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["https://app.example.com"]},
                                  "routes": [{"path": "/v1/**", "cors": {"allow_origins": ["https://ops.example.com"]}, "headers": {"X-Ops": "1"}}]})");
    models(s.port());
    auto ops = request(s.port(), "GET", "/v1/models", "Origin: https://ops.example.com\r\n");
    CHECK(ops[bhttp::field::access_control_allow_origin] == "https://ops.example.com");
    CHECK(ops["X-Ops"] == "1");
    auto app = request(s.port(), "GET", "/v1/models", "Origin: https://app.example.com\r\n");
    CHECK(app.find(bhttp::field::access_control_allow_origin) == app.end());
}

TEST_CASE("the status page at / and <prefix>/ lists the models with snippets, escaped, an index.html wins at /", "[models][status]") {
    TempDir root;
    root.write("face_mesh/1/model.json", R"({"format":"graph-model","modelTopology":{},"weightsManifest":[]})");
    root.write("a&b<i>/model.json", R"({"format":"layers-model","modelTopology":{},"weightsManifest":[]})");
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["https://app.example"]}})");
    std::string body;
    for (int i = 0; i < 100 && body.find("model(s)") == std::string::npos; ++i) {  // until the first catalog build
        body = request(s.port(), "GET", "/").body();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto r = request(s.port(), "GET", "/");
    CHECK(r.result_int() == 200);
    CHECK(r[bhttp::field::content_type] == "text/html; charset=utf-8");
    CHECK_THAT(std::string(r["Content-Security-Policy"]), Catch::StartsWith("default-src 'none'"));
    const std::string base = "http://127.0.0.1";  // from the Host header the test client sends
    CHECK_THAT(r.body(), Catch::Contains("2 model(s)"));
    CHECK_THAT(r.body(), Catch::Contains("tf.loadGraphModel(&#39;" + base + "/face_mesh/1/model.json&#39;)"));
    CHECK_THAT(r.body(), Catch::Contains("landmarkModelUrl: &#39;" + base + "/face_mesh/1/model.json&#39;"));
    CHECK_THAT(r.body(), Catch::Contains("<h2>a&amp;b&lt;i&gt; "));
    CHECK(r.body().find("<i>") == std::string::npos);
    CHECK_THAT(r.body(), Catch::Contains("<code>https://app.example</code>"));
    CHECK(request(s.port(), "GET", "/.modelhost/").body() == r.body());
    CHECK(request(s.port(), "HEAD", "/").result_int() == 200);
    // The page is made again when the Host or the catalog differs from the last page's: never another's URLs, never
    // an old catalog.
    Client other(s.port());
    other.send("GET / HTTP/1.1\r\nHost: models.example:8080\r\nConnection: close\r\n\r\n");
    CHECK_THAT(other.read().body(), Catch::Contains("tf.loadGraphModel(&#39;http://models.example:8080/face_mesh/1/model.json&#39;)"));
    CHECK(request(s.port(), "GET", "/").body() == r.body());
    root.write("blazeface/model.json", R"({"format":"graph-model","modelTopology":{},"weightsManifest":[]})");
    for (int i = 0; i < 100 && body.find("3 model(s)") == std::string::npos; ++i) {  // the next scan, a second later
        body = request(s.port(), "GET", "/").body();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK_THAT(body, Catch::Contains(base + "/blazeface/model.json"));
    root.write("index.html", "<p>my own page</p>");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(request(s.port(), "GET", "/").body() == "<p>my own page</p>");
    CHECK_THAT(request(s.port(), "GET", "/.modelhost/").body(), Catch::Contains("3 model(s)"));  // always there
}
