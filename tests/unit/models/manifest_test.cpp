// The TF.js manifest reader: typed facts from model.json text, every bound and hostile entry named.
#include "catch.hpp"

#include "models/manifest.hpp"

#include <string>
#include <vector>

using namespace modelhost::models;

namespace {

// A graph model shaped like the converter's output: two groups, the first split over two shards, one quantized
// weight.
const std::string graph_model = R"({
  "format": "graph-model",
  "generatedBy": "2.11.0",
  "convertedBy": "TensorFlow.js Converter v4.2.0",
  "signature": {"inputs": {"input:0": {"name": "input:0", "dtype": "DT_FLOAT"}}},
  "modelTopology": {"node": [{"name": "input", "op": "Placeholder"}], "library": {}, "versions": {"producer": 1119}},
  "weightsManifest": [
    {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
     "weights": [{"name": "conv/kernel", "shape": [3, 3, 3, 16], "dtype": "float32"},
                 {"name": "conv/bias", "shape": [16], "dtype": "float32"},
                 {"name": "dense/kernel", "shape": [16, 10], "dtype": "float32",
                  "quantization": {"dtype": "uint8", "min": -0.5, "scale": 0.004, "original_dtype": "float32"}}]},
    {"paths": ["group2-shard1of1.bin"],
     "weights": [{"name": "ids", "shape": [4], "dtype": "int32"}, {"name": "flag", "shape": [], "dtype": "bool"}]}
  ]
})";

// One group holding `weights` (JSON text), listed as one shard.
std::string one_group(const std::string& weights, const std::string& paths = R"("a.bin")") {
    return R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":[)" + paths +
           R"(],"weights":[)" + weights + "]}]}";
}

// `count` copies of `item`, comma-separated.
std::string repeated(const std::string& item, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += (i ? "," : "") + item;
    return out;
}

}  // namespace

TEST_CASE("a real-shaped graph model reads as groups with their shard paths, weights and declared bytes", "[manifest]") {
    const Manifest m = read_manifest(graph_model);
    REQUIRE(m.ok());
    CHECK(m.is_tfjs);
    CHECK(m.graph);
    CHECK(m.format == "graph-model");
    CHECK(m.problems.empty());
    REQUIRE(m.groups.size() == 2);
    const WeightGroup& first = m.groups[0];
    CHECK(first.entry == "weightsManifest[0]");
    REQUIRE(first.paths.size() == 2);
    CHECK(first.paths[1].entry == "weightsManifest[0].paths[1]");
    CHECK(first.paths[1].path == "group1-shard2of2.bin");
    CHECK(first.paths[1].unsafe.empty());
    REQUIRE(first.weights.size() == 3);
    CHECK(first.weights[0].shape == std::vector<std::uint64_t>{3, 3, 3, 16});
    CHECK(first.weights[2].dtype == "uint8");  // stored quantized
    CHECK(first.declared_bytes == std::optional<std::uint64_t>(432 * 4 + 16 * 4 + 160));
    CHECK(m.groups[1].declared_bytes == std::optional<std::uint64_t>(4 * 4 + 1));  // a scalar has one element
}

TEST_CASE("a layers model takes its format from its format key, and a topology without nodes is not a graph", "[manifest]") {
    struct Case {
        std::string json, format;
        bool graph;
    };
    for (const Case& c : {Case{R"({"format":"layers-model","modelTopology":{"class_name":"Sequential"},"weightsManifest":[]})", "layers-model", false},
                          Case{R"({"modelTopology":{"class_name":"Sequential"},"weightsManifest":[]})", "unknown", false},
                          Case{R"({"modelTopology":{"node":[]},"weightsManifest":[]})", "graph-model", true}}) {
        INFO(c.json);
        const Manifest m = read_manifest(c.json);
        CHECK(m.ok());
        CHECK(m.has_topology);
        CHECK(m.format == c.format);
        CHECK(m.graph == c.graph);
    }
}

TEST_CASE("declared bytes are elements times the stored dtype's size, and nothing when a dtype has no fixed size", "[manifest]") {
    struct Case {
        std::string weight;
        std::optional<std::uint64_t> bytes;
    };
    const std::vector<Case> cases = {
        {R"({"name":"w","shape":[5],"dtype":"float32"})", 20}, {R"({"name":"w","shape":[5],"dtype":"int32"})", 20},
        {R"({"name":"w","shape":[5],"dtype":"uint32"})", 20},  {R"({"name":"w","shape":[5],"dtype":"float16"})", 10},
        {R"({"name":"w","shape":[5],"dtype":"int16"})", 10},   {R"({"name":"w","shape":[5],"dtype":"uint16"})", 10},
        {R"({"name":"w","shape":[5],"dtype":"uint8"})", 5},    {R"({"name":"w","shape":[5],"dtype":"int8"})", 5},
        {R"({"name":"w","shape":[5],"dtype":"bool"})", 5},     {R"({"name":"w","shape":[5],"dtype":"float64"})", 40},
        {R"({"name":"w","shape":[5],"dtype":"int64"})", 40},   {R"({"name":"w","shape":[5],"dtype":"complex64"})", 40},
        {R"({"name":"w","shape":[2,0,7],"dtype":"float32"})", 0},
        {R"({"name":"w","shape":[5],"dtype":"float32","quantization":{"dtype":"float16"}})", 10},
        {R"({"name":"w","shape":[5],"dtype":"float32","quantization":7})", 20},
        {R"({"name":"w","shape":[5],"dtype":"string"})", std::nullopt},
        {R"({"name":"w","shape":[5],"dtype":"float128"})", std::nullopt},
        {R"({"name":"w","shape":[5]})", std::nullopt},
        {R"({"name":"w","dtype":"float32"})", std::nullopt},
        {R"({"name":"w","shape":[4294967296,4294967296],"dtype":"float32"})", std::nullopt},
        {R"({"name":"w","shape":[4611686018427387904],"dtype":"float32"})", std::nullopt},
    };
    for (const Case& c : cases) {
        INFO(c.weight);
        const Manifest m = read_manifest(one_group(c.weight));
        REQUIRE(m.groups.size() == 1);
        CHECK(m.groups[0].declared_bytes == c.bytes);
    }
    CHECK(read_manifest(one_group("")).groups[0].declared_bytes == std::optional<std::uint64_t>(0));
    const std::string huge = R"({"name":"w","shape":[1152921504606846976],"dtype":"float32"})";  // 2^60 × 4: fits
    CHECK_FALSE(read_manifest(one_group(huge + "," + huge + "," + huge + "," + huge)).groups[0].declared_bytes);
}

TEST_CASE("a shape of negative, fractional or non-number sizes has no sizes and no element count", "[manifest]") {
    for (const char* shape : {"[-1,3]", "[1.5]", "[\"3\"]", "[null]", "[[2]]"}) {
        INFO(shape);
        const Manifest m = read_manifest(one_group(std::string(R"({"name":"w","dtype":"float32","shape":)") + shape + "}"));
        const Weight& w = m.groups.at(0).weights.at(0);
        CHECK(w.has_shape);
        CHECK(w.shape.empty());
        CHECK_FALSE(w.elements);
    }
    const Manifest overflow = read_manifest(one_group(R"({"name":"w","dtype":"float32","shape":[4294967296,4294967296,16]})"));
    CHECK(overflow.groups.at(0).weights.at(0).shape.size() == 3);
    CHECK_FALSE(overflow.groups.at(0).weights.at(0).elements);
    const Weight odd = read_manifest(one_group(R"({"name":5,"shape":"no"})")).groups.at(0).weights.at(0);
    CHECK(odd.name == "?");
    CHECK_FALSE(odd.has_shape);
}

TEST_CASE("a document that cannot be read says why and has no groups", "[manifest]") {
    struct Case {
        std::string json, error;
    };
    for (const Case& c : {Case{"{not json", "not valid JSON at byte 3"}, Case{"", "the file is empty"}, Case{"[1,2]", "not a JSON object"},
                          Case{R"({"weightsManifest": [)", "ends inside a value at byte 21 (cut short?)"},
                          Case{R"({"weightsManifest": 1e500})", "not valid JSON"},
                          Case{R"({"modelTopology":{}})", "no weightsManifest array"},
                          Case{R"({"weightsManifest":{"a":1}})", "no weightsManifest array"},
                          Case{std::string(max_manifest_bytes + 1, ' '), "bytes a manifest may hold"}}) {
        INFO(c.json.substr(0, 40));
        const Manifest m = read_manifest(c.json);
        CHECK_THAT(m.error, Catch::Contains(c.error));
        CHECK(m.groups.empty());
    }
    CHECK(read_manifest(R"({"weightsManifest":7})").is_tfjs);  // a broken model, not some other JSON
    CHECK_FALSE(read_manifest(R"({"just":"config"})").is_tfjs);
    CHECK(read_manifest(R"({"format":1,"weightsManifest":[]})").problems == std::vector<std::string>{"\"format\" is not a string"});
}

TEST_CASE("groups that are not objects or lack their arrays are kept, named, without paths or weights", "[manifest]") {
    const Manifest m = read_manifest(R"({"weightsManifest":[1, "x", null, {"paths": 3, "weights": []}, {"paths": ["a.bin"]}]})");
    REQUIRE(m.ok());
    REQUIRE(m.groups.size() == 5);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO(i);
        CHECK(m.groups[i].entry == "weightsManifest[" + std::to_string(i) + "]");
        CHECK_FALSE(m.groups[i].has_paths);
        CHECK(m.groups[i].paths.empty());
    }
    CHECK(m.groups[3].has_weights);
    CHECK(m.groups[4].has_paths);
    CHECK_FALSE(m.groups[4].has_weights);
    CHECK_FALSE(m.groups[4].declared_bytes);
}

TEST_CASE("a shard path that is not a string is kept with its JSON shown, cut to 60 characters", "[manifest]") {
    const Manifest m = read_manifest(one_group("", R"(7, null, {"k": ")" + std::string(100, 'x') + R"("})"));
    const auto& paths = m.groups.at(0).paths;
    REQUIRE(paths.size() == 3);
    CHECK_FALSE(paths[0].is_string);
    CHECK(paths[0].path.empty());
    CHECK(paths[0].shown == "7");
    CHECK(paths[1].shown == "null");
    CHECK(paths[2].shown.size() == 60);
    CHECK(paths[2].shown.ends_with("..."));
}

TEST_CASE("hostile shard paths are marked unsafe with the reason, before and after percent-decoding", "[manifest]") {
    struct Case {
        std::string path, reason;
    };
    for (const Case& c : {Case{"", "empty"}, Case{"/etc/passwd", "absolute"}, Case{"../x", "\"..\""}, Case{"a/../../x", "\"..\""},
                          Case{"a/./b", "\".\""}, Case{"a//b", "empty"}, Case{"%2e%2e/x", "\"..\""}, Case{"..%2f..%2fx", "hidden"},
                          Case{"%2F%2fx", "absolute"}, Case{"a\\b", "backslash"}, Case{"a%5cb", "backslash"},
                          Case{".git/config", "hidden"}, Case{"%2ehidden", "hidden"}, Case{"x.bin?token=1", "query"},
                          Case{"x#f", "fragment"}, Case{"%zz", "malformed"}, Case{std::string("a\0b", 3), "NUL"},
                          Case{"a%00b", "NUL"}, Case{"a\tb", "control"}, Case{"C:/x", "colon"}, Case{"//evil.example/x", "absolute"},
                          Case{"https://evil.example/x", "colon"}}) {
        INFO(c.path);
        CHECK_THAT(unsafe_shard_path(c.path), Catch::Contains(c.reason));
    }
    for (const char* ok : {"group1-shard1of2.bin", "weights/group1-shard1of1", "a%20b.bin", "x.html"}) {
        INFO(ok);
        CHECK(unsafe_shard_path(ok).empty());  // active content is the server's rule (tools::unsafe_shard_path)
    }
    const Manifest m = read_manifest(one_group("", R"("ok.bin", "../x", "sub/ok.bin")"));
    CHECK(m.groups.at(0).paths.at(1).unsafe == "has an empty, \".\" or \"..\" segment");
    CHECK(m.groups.at(0).paths.at(2).unsafe.empty());
}

TEST_CASE("a safe shard path listed again, in its group or another, is marked repeated from its second listing on", "[manifest]") {
    const Manifest m = read_manifest(R"({"weightsManifest":[{"paths":["a.bin","b.bin","a.bin"],"weights":[]},)"
                                     R"({"paths":["b.bin","../x","../x"],"weights":[]}]})");
    REQUIRE(m.groups.size() == 2);
    CHECK_FALSE(m.groups[0].paths[0].repeated);
    CHECK_FALSE(m.groups[0].paths[1].repeated);
    CHECK(m.groups[0].paths[2].repeated);
    CHECK(m.groups[1].paths[0].repeated);
    CHECK_FALSE(m.groups[1].paths[2].repeated);  // unsafe already: refused for that
}

TEST_CASE("more groups, shard paths or weights than the bounds refuse the manifest, naming the entry", "[manifest]") {
    struct Case {
        std::string json, error;
    };
    const std::vector<Case> cases = {
        {R"({"weightsManifest":[)" + repeated("{}", max_groups + 1) + "]}", "weightsManifest: 65537 groups, more than the 65536 a manifest may have"},
        {R"({"weightsManifest":[{"paths":[)" + repeated("\"a\"", max_paths / 2) + R"(]},{"paths":[)" +
             repeated("\"b\"", max_paths / 2 + 1) + "]}]}",
         "weightsManifest[1].paths: more than the 65536 shard paths a manifest may list"},
        {R"({"weightsManifest":[{"weights":[)" + repeated("1", max_weights + 1) + "]}]}",
         "weightsManifest[0].weights: more than the 1048576 weights a manifest may list"},
    };
    for (const Case& c : cases) {
        INFO(c.error);
        const Manifest m = read_manifest(c.json);
        CHECK(m.error == c.error);
        CHECK(m.groups.empty());
    }
    CHECK(read_manifest(R"({"weightsManifest":[)" + repeated("{}", max_groups) + "]}").ok());
}
