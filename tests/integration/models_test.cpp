// GET /v1/models over real sockets: the catalog with sha256 per file, following changes to the tree.
#include "catch.hpp"

#include "http_client.hpp"

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>
#include <openssl/sha.h>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

std::string sha256_hex(const std::string& data) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
    std::string out;
    for (unsigned char c : md) out += "0123456789abcdef"[c >> 4], out += "0123456789abcdef"[c & 15];
    return out;
}

const std::string manifest = R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"k","shape":[4,4],"dtype":"float32"}]}]})";

}  // namespace

TEST_CASE("/v1/models lists each model with URLs, sizes, sha256 and status, and follows the tree", "[models]") {
    TempDir root;
    const std::string shard(64, '\x05');
    root.write("face mesh/model.json", manifest);
    root.write("face mesh/group1-shard1of1.bin", shard);
    root.write("mp/face_landmarker.task", "task");
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["http://localhost:5173"]}})");

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
    CHECK(doc["assets"][0]["path"] == "mp/face_landmarker.task");

    // Cut the shard short: the model is reported broken (after the catalog's one-second refresh) but still served.
    root.write("face mesh/group1-shard1of1.bin", shard.substr(0, 10));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto again = nlohmann::json::parse(request(s.port(), "GET", "/v1/models").body());
    CHECK(again["models"][0]["status"] == "broken");
    CHECK(again["models"][0]["problems"][0].get<std::string>().find("holds 10 bytes, the manifest needs 64") != std::string::npos);
    CHECK(again["models"][0]["files"][1]["sha256"] == sha256_hex(shard.substr(0, 10)));
    CHECK(request(s.port(), "GET", "/face%20mesh/group1-shard1of1.bin").result_int() == 200);
}
