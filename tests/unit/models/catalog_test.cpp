// Manifest validation: the bytes each weights group needs against what its shards hold.
#include "catch.hpp"

#include "models/catalog.hpp"
#include "temp_dir.hpp"

using namespace modelhost::models;
using modelhost::test::TempDir;

namespace {

std::string manifest(const std::string& paths, const std::string& weights, const std::string& format = "graph-model") {
    return R"({"format":")" + format + R"(","modelTopology":{"node":[]},"weightsManifest":[{"paths":[)" + paths +
           R"(],"weights":[)" + weights + "]}]}";
}

std::string problems(const ModelEntry& m) {
    std::string out;
    for (const auto& p : m.problems) out += p + "\n";
    return out;
}

}  // namespace

TEST_CASE("a model whose shards hold exactly the declared bytes is ok", "[catalog]") {
    TempDir root;
    root.write("m/model.json", manifest(R"("a.bin")", R"({"name":"k","shape":[2,3],"dtype":"float32"},{"name":"b","shape":[3],"dtype":"int32"})"));
    root.write("m/a.bin", std::string(36, '\0'));
    auto m = check_model(root.path(), "m/model.json");
    CHECK(problems(m).empty());
    CHECK(m.name == "m");
    CHECK(m.format == "tfjs");
    CHECK(m.variant == "graph-model");
    CHECK(m.files.size() == 2);
    CHECK(m.total_bytes == 36 + std::filesystem::file_size(root.path() / "m/model.json"));
}

TEST_CASE("quantized weights count in their quantized dtype", "[catalog]") {
    TempDir root;
    root.write("q/model.json", manifest(R"("a.bin")",
        R"({"name":"u8","shape":[10],"dtype":"float32","quantization":{"dtype":"uint8","min":0,"scale":1}},)"
        R"({"name":"u16","shape":[4],"dtype":"float32","quantization":{"dtype":"uint16","min":0,"scale":1}},)"
        R"({"name":"f16","shape":[3],"dtype":"float32","quantization":{"dtype":"float16"}})"));
    root.write("q/a.bin", std::string(10 + 8 + 6, '\0'));
    CHECK(problems(check_model(root.path(), "q/model.json")).empty());
}

TEST_CASE("string weights are sized from their length prefixes", "[catalog]") {
    TempDir root;
    root.write("s/model.json", manifest(R"("a.bin", "b.bin")", R"({"name":"vocab","shape":[2],"dtype":"string"},{"name":"x","shape":[1],"dtype":"float32"})"));
    std::string data = std::string("\x03\0\0\0", 4) + "abc" + std::string("\x01\0\0\0", 4) + "z" + std::string(4, '\0');
    root.write("s/a.bin", data.substr(0, 5));  // the group spans two shards, split inside a string
    root.write("s/b.bin", data.substr(5));
    CHECK(problems(check_model(root.path(), "s/model.json")).empty());
}

TEST_CASE("a missing shard, a short shard and a path leaving the root are named precisely", "[catalog]") {
    TempDir root;
    root.write("miss/model.json", manifest(R"("a.bin")", R"({"name":"k","shape":[4],"dtype":"float32"})"));
    CHECK_THAT(problems(check_model(root.path(), "miss/model.json")), Catch::Contains("group 0 shard a.bin: missing"));

    root.write("short/model.json", manifest(R"("group1-shard1of2.bin","group1-shard2of2.bin")", R"({"name":"k","shape":[300],"dtype":"float32"})"));
    root.write("short/group1-shard1of2.bin", std::string(1000, '\0'));
    root.write("short/group1-shard2of2.bin", std::string(150, '\0'));  // needs 200
    CHECK_THAT(problems(check_model(root.path(), "short/model.json")),
               Catch::Contains("group 0 shard group1-shard2of2.bin: holds 150 bytes, the manifest needs 200"));

    root.write("first/model.json", manifest(R"("s1.bin","s2.bin")", R"({"name":"k","shape":[300],"dtype":"float32"})"));
    root.write("first/s1.bin", std::string(700, '\0'));  // truncated: 1000 expected
    root.write("first/s2.bin", std::string(1000, '\0'));
    CHECK_THAT(problems(check_model(root.path(), "first/model.json")), Catch::Contains("shard s1.bin: holds 700 bytes"));

    root.write("secret.bin", std::string(16, '\0'));
    root.write("esc/model.json", manifest(R"("../../secret.bin")", R"({"name":"k","shape":[4],"dtype":"float32"})"));
    CHECK_THAT(problems(check_model(root.path() / "esc", "model.json")), Catch::Contains("path leaves the served root"));
    root.write("abs/model.json", manifest(R"("/etc/passwd")", R"({"name":"k","shape":[4],"dtype":"float32"})"));
    CHECK_THAT(problems(check_model(root.path(), "abs/model.json")), Catch::Contains("path leaves the served root"));
}

TEST_CASE("broken JSON and unknown dtypes are problems, and scan finds models but skips hidden folders", "[catalog]") {
    TempDir root;
    root.write("bad/model.json", "{not json");
    root.write("odd/model.json", manifest(R"("a.bin")", R"({"name":"k","shape":[4],"dtype":"float128"})"));
    root.write("odd/a.bin", "");
    root.write(".git/model.json", manifest("", ""));
    root.write("plain/config.json", R"({"just":"config"})");
    root.write("mp/face_landmarker.task", "x");
    Catalog c = scan(root.path());
    // bad/model.json and a .task that is no zip are listed broken; config.json is no model; .git is hidden
    REQUIRE(c.models.size() == 3);
    CHECK(c.models[0].name == "bad");
    CHECK_FALSE(c.models[0].ok());
    CHECK(c.models[1].name == "mp/face_landmarker");
    CHECK(c.models[1].format == "mediapipe");
    CHECK_THAT(problems(c.models[1]), Catch::Contains("not a zip archive"));
    CHECK(c.models[2].name == "odd");
    CHECK_THAT(problems(c.models[2]), Catch::Contains("unknown dtype \"float128\""));
    CHECK(c.assets.empty());
    CHECK_THAT(problems(check_model(root.path(), "bad/model.json")), Catch::Contains("not valid JSON at byte 3"));
}

TEST_CASE("a model.json cut short, or not an object, is listed broken, saying where it stops", "[catalog]") {
    TempDir root;
    const std::string good = manifest(R"("a.bin")", R"({"name":"k","shape":[1],"dtype":"float32"})");
    root.write("good/model.json", good);
    root.write("good/a.bin", "1234");
    root.write("face/model.json", good.substr(0, 40));  // an interrupted copy
    root.write("list/model.json", "[1, 2]");
    root.write("nothing/model.json", "null");
    Catalog c = scan(root.path());
    REQUIRE(c.models.size() == 4);
    CHECK(c.models[0].name == "face");
    CHECK_THAT(problems(c.models[0]), Catch::Contains("ends inside a value at byte 40 (cut short?)"));
    CHECK(c.models[1].name == "good");
    CHECK(c.models[1].ok());
    CHECK_THAT(problems(c.models[2]), Catch::Contains("top-level value is an array"));
    CHECK_THAT(problems(c.models[3]), Catch::Contains("top-level value is null"));
}
