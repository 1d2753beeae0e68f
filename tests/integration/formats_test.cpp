// Every browser format, end to end: roots made by make_formats.py (Debian's python3-onnx for the ONNX files, the
// standard library's zipfile for the .task bundles) checked by `modelhost check`, then served: /v1/models names each
// model's format, the status page gives each format's loader call with the request's own host, /metrics counts per
// format, the start-up line counts per format, and a WebLLM folder holding only ndarray-cache.json answers
// tensor-cache.json with the same bytes.
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <regex>
#include <thread>

using namespace modelhost::test;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::string make_formats = std::string(MODELHOST_SOURCE_DIR) + "/tests/integration/make_formats.py";

// The roots, made once for every test case here.
const std::filesystem::path& roots() {
    static TempDir dir;
    static const bool made = [] {
        auto [code, out] = run_command({"/usr/bin/python3", make_formats, dir.path().string()});
        INFO(out);
        REQUIRE(code == 0);
        return true;
    }();
    (void)made;
    return dir.path();
}

std::map<std::string, nlohmann::json> by_name(const nlohmann::json& doc) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& m : doc["models"]) out[m["name"].get<std::string>()] = m;
    return out;
}

// /v1/models once the first scan is in (it answers 503 before).
nlohmann::json catalog(std::uint16_t port) {
    for (int i = 0; i < 300; ++i) {
        auto r = request(port, "GET", "/v1/models");
        if (r.result_int() == 200) return nlohmann::json::parse(r.body());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("no catalog after 30 s");
    return {};
}

}  // namespace

TEST_CASE("check reports one model of each format with its format, and exits 0", "[formats][check]") {
    const auto good = (roots() / "good").string();
    auto [code, table] = run_command({binary, "check", good});
    INFO(table);
    CHECK(code == 0);
    for (const char* row : {"acme/tiny                                transformers.js/bert", "blazeface                                tfjs/graph-model",
                            "face/model                               onnx/opset 17", "llm                                      webllm/llama",
                            "mp/face_landmarker                       mediapipe/3 entries", "mp/selfie_segmenter                      tflite"})
        CHECK_THAT(table, Catch::Contains(row));

    auto [j, text] = run_command({binary, "check", good, "--json"});
    CHECK(j == 0);
    auto models = by_name(nlohmann::json::parse(text));
    REQUIRE(models.size() == 6);
    CHECK(models["acme/tiny"]["format"] == "transformers.js");
    CHECK(models["acme/tiny"]["dtypes"] == nlohmann::json::array({"fp32", "q8"}));
    CHECK(models["face/model"]["format"] == "onnx");
    CHECK(models["face/model"]["external_data"] == nlohmann::json::array({"model.onnx_data"}));
    CHECK(models["face/model"]["files"].size() == 2);
    CHECK(models["llm"]["format"] == "webllm");
    CHECK(models["llm"]["manifest"] == "llm/ndarray-cache.json");
    CHECK(models["llm"]["total_bytes"] == 616 + 90 + 57 + 3 * 4096);
    CHECK(models["mp/face_landmarker"]["format"] == "mediapipe");
    CHECK(models["mp/selfie_segmenter"]["format"] == "tflite");
    CHECK(models["blazeface"]["format"] == "tfjs");
    CHECK(models["blazeface"]["variant"] == "graph-model");
}

TEST_CASE("check names each broken model's file and cause, and exits 1", "[formats][check]") {
    auto [code, report] = run_command({binary, "check", (roots() / "broken").string()});
    INFO(report);
    CHECK(code == 1);
    for (const char* line : {
             "cut-json: cut-json/model.json: not valid JSON: it ends inside a value at byte 40 (cut short?)",
             "cut-onnx/model: cut-onnx/model.onnx: cut short: a field of the graph at byte 19 declares 220 bytes, 103 remain",
             "no-data/model: no-data/model.onnx_data: missing (no-data/model.onnx stores 2 tensor(s) there, the first w0)",
             "short-data/model: short-data/model.onnx_data: holds 100 bytes, tensor w1 needs bytes 4096 to 8192",
             "negative/model: negative/model.onnx: tensor w0: length \"-4096\" is not a byte count",
             "far-offset/model: far-offset/model.onnx_data: holds 8192 bytes, tensor w0 needs bytes 1099511627776",
             "escape/model: escape/model.onnx: tensor w0: location leaves the model's folder",
             "huge-length/model: huge-length/model.onnx: cut short: a field of the graph at byte 8 declares 2147483647 bytes, 8 remain",
             "mp/not_tflite: mp/not_tflite.task: entry face_detector.tflite holds an HTML page, not a TFLite model",
             "mp/escape: mp/escape.task: entry ../evil.tflite has a name that leaves the bundle",
             "mp/bomb: mp/bomb.task: entry hand_detector.tflite is compressed (method 8, ",
             "mp/spa: mp/spa.task: holds an HTML page, not a zip",
             "mp/cut: mp/cut.tflite: is 6 bytes: too short for a TFLite model",
             "llm: llm/params_shard_1.bin: missing (llm/tensor-cache.json lists it in records[1])",
             "acme/nochunk: acme/nochunk/onnx/model.onnx_data: missing"})
        CHECK_THAT(report, Catch::Contains(line));
    CHECK_THAT(report, !Catch::Contains(" ok\n"));
}

TEST_CASE("served: /v1/models, the status page, /metrics and the start-up line speak every format", "[formats][models]") {
    Process server({binary, "--root", (roots() / "good").string(), "--port", "0"});
    const auto port = server.wait_for_port();
    REQUIRE(port != 0);
    auto models = by_name(catalog(port));
    REQUIRE(models.size() == 6);
    for (const auto& [name, format] : std::map<std::string, std::string>{{"acme/tiny", "transformers.js"}, {"blazeface", "tfjs"},
                                                                          {"face/model", "onnx"}, {"llm", "webllm"},
                                                                          {"mp/face_landmarker", "mediapipe"}, {"mp/selfie_segmenter", "tflite"}}) {
        CHECK(models[name]["format"] == format);
        CHECK(models[name]["status"] == "ok");
    }
    // Each model's loader, with path-absolute URLs.
    CHECK(models["face/model"]["loader"]["call"] == "ort.InferenceSession.create");
    CHECK(models["face/model"]["loader"]["external_data"][0]["url"] == "/face/model.onnx_data");
    CHECK(models["acme/tiny"]["loader"]["remote_path_template"] == "{model}/resolve/{revision}/");
    CHECK(models["mp/face_landmarker"]["loader"]["call"] == "FaceLandmarker.createFromOptions");
    CHECK(models["mp/face_landmarker"]["loader"]["model_asset_path"] == "/mp/face_landmarker.task");
    CHECK(models["llm"]["loader"]["model"] == "/llm/resolve/main/");
    CHECK(models["blazeface"]["loader"]["call"] == "tf.loadGraphModel");

    const std::string base = "http://127.0.0.1";  // from the Host header the test client sends
    auto page = request(port, "GET", "/", "Accept: text/html\r\n");
    REQUIRE(page.result_int() == 200);
    const std::string& html = page.body();
    CHECK_THAT(html, Catch::Contains("tf.loadGraphModel(&#39;" + base + "/blazeface/model.json&#39;)"));
    CHECK_THAT(html, Catch::Contains("ort.InferenceSession.create(&#39;" + base + "/face/model.onnx&#39;, {"));
    CHECK_THAT(html, Catch::Contains("{ path: &#39;model.onnx_data&#39;, data: &#39;" + base + "/face/model.onnx_data&#39; }"));
    CHECK_THAT(html, Catch::Contains("env.remoteHost = &#39;" + base + "/&#39;;"));
    CHECK_THAT(html, Catch::Contains("pipeline(&#39;feature-extraction&#39;, &#39;acme/tiny&#39;, { dtype: &#39;q8&#39; })"));
    CHECK_THAT(html, Catch::Contains("FaceLandmarker.createFromOptions(vision, { baseOptions: { modelAssetPath: &#39;" + base +
                                     "/mp/face_landmarker.task&#39; } })"));
    CHECK_THAT(html, Catch::Contains("FilesetResolver.forVisionTasks("));
    CHECK_THAT(html, Catch::Contains("model: &#39;" + base + "/llm/resolve/main/&#39;,"));
    CHECK_THAT(html, Catch::Contains("CreateMLCEngine(&#39;llm&#39;, { appConfig })"));

    const std::string exposition = request(port, "GET", "/.modelhost/metrics").body();
    for (const char* f : {"tfjs", "onnx", "transformers.js", "mediapipe", "tflite", "webllm"})
        CHECK_THAT(exposition, Catch::Contains("modelhost_models{format=\"" + std::string(f) + "\",state=\"ok\"} 1\n"));

    // The WebLLM alias: only ndarray-cache.json is held; the name today's runtime asks for answers the same bytes.
    auto older = request(port, "GET", "/llm/resolve/main/ndarray-cache.json");
    auto current = request(port, "GET", "/llm/resolve/main/tensor-cache.json");
    CHECK(current.result_int() == 200);
    CHECK(current.body() == older.body());
    CHECK(current[boost::beast::http::field::etag] == older[boost::beast::http::field::etag]);

    // doctor speaks each loader, and modelhost passes each.
    const std::string origin = "http://localhost:5173";
    const std::string host = "http://127.0.0.1:" + std::to_string(port);
    for (const auto& [url, loader] : std::vector<std::pair<std::string, std::string>>{
             {"/acme/tiny/resolve/main/", "transformers"}, {"/llm/resolve/main/", "webllm"}, {"/face/model.onnx", "ort"},
             {"/mp/face_landmarker.task", "mediapipe"}, {"/blazeface/model.json", "tfjs"}}) {
        auto [explicit_code, said] = run_command({binary, "doctor", host + url, "--origin", origin, "--loader", loader});
        INFO(said);
        CHECK(explicit_code == 0);
        auto [guessed_code, guessed] = run_command({binary, "doctor", host + url, "--origin", origin});
        CHECK(guessed_code == 0);
        const std::regex random("modelhost-doctor-[0-9]+-absent");
        CHECK(std::regex_replace(guessed, random, "X") == std::regex_replace(said, random, "X"));  // the guess is the loader's own
    }

    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    CHECK_THAT(server.output(), Catch::Contains("catalog: 6 model(s): 1 tfjs, 1 onnx, 1 transformers.js, 1 mediapipe, 1 tflite, 1 webllm"));
}

TEST_CASE("served broken: /v1/models lists each broken model with its format, and /metrics counts them", "[formats][models]") {
    Process server({binary, "--root", (roots() / "broken").string(), "--port", "0"});
    const auto port = server.wait_for_port();
    REQUIRE(port != 0);
    auto models = by_name(catalog(port));
    CHECK(models["cut-json"]["status"] == "broken");
    CHECK(models["cut-json"]["format"] == "tfjs");
    CHECK(models["cut-onnx/model"]["format"] == "onnx");
    CHECK(models["cut-onnx/model"]["status"] == "broken");
    CHECK(models["mp/bomb"]["status"] == "broken");
    CHECK(models["llm"]["status"] == "broken");
    const std::string exposition = request(port, "GET", "/.modelhost/metrics").body();
    CHECK_THAT(exposition, Catch::Contains("modelhost_models{format=\"onnx\",state=\"broken\"} 7\n"));
    CHECK_THAT(exposition, Catch::Contains("modelhost_models{format=\"mediapipe\",state=\"broken\"} 4\n"));
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
    CHECK_THAT(server.output(), Catch::Contains("model cut-onnx/model is broken: cut-onnx/model.onnx: cut short"));
}
