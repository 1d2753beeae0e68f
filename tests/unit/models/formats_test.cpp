// The readers of the formats beside TF.js, on bytes made here: ONNX's wire format written field by field (so every
// cut and every hostile length can be placed exactly), transformers.js's file names, the WebLLM tensor cache.
#include "catch.hpp"

#include "models/onnx_model.hpp"
#include "models/task_bundle.hpp"
#include "models/transformers_repo.hpp"
#include "models/webllm.hpp"

#include <string>

using namespace modelhost::models;

namespace {

// Protobuf's wire format, by hand.
std::string varint(std::uint64_t v) {
    std::string out;
    do {
        out += static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return out;
}
std::string field(std::uint32_t number, const std::string& bytes) { return varint(number << 3 | 2) + varint(bytes.size()) + bytes; }
std::string number(std::uint32_t n, std::uint64_t v) { return varint(n << 3) + varint(v); }

std::string entry(const std::string& key, const std::string& value) { return field(1, key) + field(2, value); }

// A float tensor of `count` elements stored in `location` at `offset`.
std::string external_tensor(const std::string& name, std::uint64_t count, const std::string& location, const std::string& offset,
                            const std::string& length = "") {
    std::string t = field(1, varint(count)) + number(2, 1) + field(8, name) + field(13, entry("location", location)) +
                    field(13, entry("offset", offset));
    if (!length.empty()) t += field(13, entry("length", length));
    return t + number(14, 1);
}

std::string model(const std::string& graph) {
    return number(1, 8) + field(2, "unit") + field(7, graph) + field(8, field(1, "") + number(2, 17));
}

}  // namespace

TEST_CASE("ONNX: external tensors come with their location, offset and length, inline ones are only counted", "[onnx]") {
    const std::string inline_tensor = field(1, varint(2)) + number(2, 1) + field(8, "b") + field(9, std::string(8, '\0'));
    const std::string graph = field(1, field(5, field(5, external_tensor("c", 3, "w.bin", "64")))) +  // a Constant's tensor
                              field(5, external_tensor("a", 256, "w.bin", "0", "1024")) + field(5, inline_tensor);
    const OnnxModel m = read_onnx(model(graph));
    REQUIRE(m.ok());
    CHECK(m.ir_version == 8);
    CHECK(m.opset == 17);
    CHECK(m.producer == "unit");
    CHECK(m.initializers == 2);
    REQUIRE(m.external.size() == 2);
    CHECK(m.external[0].tensor == "c");
    CHECK(m.external[0].offset == 64);
    CHECK_FALSE(m.external[0].length);
    CHECK(m.external[0].bytes() == 12u);  // 3 floats, from dims and type
    CHECK(m.external[1].location == "w.bin");
    CHECK(m.external[1].bytes() == 1024u);
    CHECK(m.external[1].problem.empty());
}

TEST_CASE("ONNX: every prefix of a model is refused, and a cut inside a field says where", "[onnx]") {
    const std::string whole = model(field(5, external_tensor("a", 4, "w.bin", "0")));
    REQUIRE(read_onnx(whole).ok());
    for (std::size_t n = 0; n < whole.size(); ++n) {
        const OnnxModel m = read_onnx(whole.substr(0, n));
        INFO(n << ": " << m.error);
        CHECK_FALSE(m.ok());
    }
    CHECK_THAT(read_onnx(whole.substr(0, 20)).error, Catch::Contains("cut short"));
}

TEST_CASE("ONNX: hostile lengths, offsets and locations are named, never followed", "[onnx]") {
    CHECK_THAT(read_onnx(number(1, 8) + varint(7 << 3 | 2) + varint(0x7fffffff)).error,
               Catch::Contains("declares 2147483647 bytes, 0 remain"));
    CHECK_THAT(read_onnx("<!doctype html>").error, Catch::Contains("an HTML page?"));
    auto problem = [](const std::string& tensor) {
        const OnnxModel m = read_onnx(model(field(5, tensor)));
        REQUIRE(m.ok());
        REQUIRE(m.external.size() == 1);
        return m.external[0].problem;
    };
    CHECK_THAT(problem(external_tensor("a", 4, "../secret", "0")), Catch::Contains("leaves the model's folder"));
    CHECK_THAT(problem(external_tensor("a", 4, "/etc/passwd", "0")), Catch::Contains("not a relative path"));
    CHECK_THAT(problem(external_tensor("a", 4, "w.bin", "-1")), Catch::Contains("offset \"-1\" is not a byte count"));
    CHECK_THAT(problem(external_tensor("a", 4, "w.bin", "0", "-16")), Catch::Contains("length \"-16\" is not a byte count"));
    CHECK_THAT(problem(external_tensor("a", 4, "w.bin", "0", "15")), Catch::Contains("length 15 but its dims and type need 16"));
    // Graphs inside graphs are bounded.
    std::string deep = field(5, external_tensor("a", 4, "w.bin", "0"));
    for (int i = 0; i < 40; ++i) deep = field(1, field(5, field(6, deep)));
    CHECK_THAT(read_onnx(model(deep)).error, Catch::Contains("graphs nest more than 16 deep"));
}

TEST_CASE("TFLite: the identifier at bytes 4..7, and HTML named as such", "[tflite]") {
    CHECK(tflite_problem(std::string("\x1c\0\0\0TFL3", 8), 256).empty());
    CHECK_THAT(tflite_problem(std::string("\x1c\0\0\0ABCD", 8), 256), Catch::Contains("no \"TFL3\""));
    CHECK_THAT(tflite_problem("<html>", 6), Catch::Contains("HTML page"));
    CHECK_THAT(read_task("PK\x03\x04 cut").error, Catch::Contains("not a zip archive, or one cut short"));
}

TEST_CASE("transformers.js: dtype suffixes and external-data chunk names as getSession builds them", "[transformers]") {
    CHECK(onnx_variant("model_q4f16.onnx")->dtype == "q4f16");
    CHECK(onnx_variant("model_q4f16.onnx")->model == "model");
    CHECK(onnx_variant("decoder_model_merged_quantized.onnx")->model == "decoder_model_merged");
    CHECK(onnx_variant("decoder_model_merged_quantized.onnx")->dtype == "q8");
    CHECK(onnx_variant("model.onnx")->dtype == "fp32");
    CHECK_FALSE(onnx_variant("model.onnx_data"));
    CHECK(external_chunk_name("model.onnx", 0) == "model.onnx_data");
    CHECK(external_chunk_name("model_fp16.onnx", 2) == "model_fp16.onnx_data_2");

    const auto cfg = read_transformers_config(
        R"({"model_type":"whisper","transformers.js_config":{"use_external_data_format":{"model_fp16.onnx":2,"encoder_model":true,"bad":101}}})");
    CHECK(cfg.model_type == "whisper");
    CHECK(cfg.external_chunks("model_fp16.onnx", "model") == 2);
    CHECK(cfg.external_chunks("encoder_model_q4.onnx", "encoder_model") == 1);
    CHECK(cfg.external_chunks("model.onnx", "model") == 0);
    REQUIRE(cfg.problems.size() == 1);
    CHECK_THAT(cfg.problems[0], Catch::Contains("[\"bad\"] is 101"));
    CHECK(read_transformers_config(R"({"transformers.js_config":{"use_external_data_format":true}})").external_chunks("m.onnx", "m") == 1);
}

TEST_CASE("WebLLM: shard records with their bytes, unsafe or incomplete ones named", "[webllm]") {
    const auto c = read_webllm_cache(R"({"records":[{"dataPath":"params_shard_0.bin","nbytes":10},
        {"dataPath":"../x.bin","nbytes":1},{"dataPath":"params_shard_2.bin"},{"dataPath":"params_shard_3.bin","nbytes":5}]})");
    REQUIRE(c.ok());
    REQUIRE(c.shards.size() == 4);
    CHECK(c.total_bytes == 15);
    CHECK_THAT(c.shards[1].problem, Catch::Contains("dataPath \"../x.bin\""));
    CHECK_THAT(c.shards[2].problem, Catch::Contains("no nbytes"));
    CHECK_THAT(read_webllm_cache(R"({"records":[{"dataPath":"a")").error, Catch::Contains("cut short"));
    CHECK_THAT(read_webllm_cache("[]").error, Catch::Contains("an array"));
    const auto chat = read_mlc_chat_config(R"({"model_type":"llama","tokenizer_files":["tokenizer_config.json"]})");
    REQUIRE(chat.problems.size() == 1);
    CHECK_THAT(chat.problems[0], Catch::Contains("neither tokenizer.json nor tokenizer.model"));
}
