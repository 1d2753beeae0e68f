// The model catalog: every model a browser loader fetches from under the root, in each format, validated against the
// bytes its files hold: TF.js (model.json and its shards), ONNX (and its external data), transformers.js repo
// folders (config.json + onnx/), MediaPipe Tasks bundles and bare TFLite models, WebLLM folders (mlc-chat-config.json
// + the tensor cache and its shards); and the runtime packages under npm/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelhost::models {

// One file of a model, path relative to the root.
struct ModelFile {
    std::string path;
    std::uint64_t bytes = 0;
};

// The formats, as /v1/models, check and the metrics name them.
namespace format {
inline constexpr const char* tfjs = "tfjs";
inline constexpr const char* onnx = "onnx";
inline constexpr const char* transformers = "transformers.js";
inline constexpr const char* mediapipe = "mediapipe";  // a .task bundle
inline constexpr const char* tflite = "tflite";        // a bare .tflite
inline constexpr const char* webllm = "webllm";
inline constexpr const char* all[] = {tfjs, onnx, transformers, mediapipe, tflite, webllm};
}  // namespace format

// Problems kept per model: a hostile file with a million broken entries still gets a bounded report.
constexpr std::size_t max_problems = 50;

// A model and what is wrong with it, in words that name the file, entry, shard and byte counts.
struct ModelEntry {
    std::string name;      // the folder or file a loader is pointed at, relative to the root ("face/mesh")
    std::string manifest;  // the file it reads first ("face/mesh/model.json", "m/onnx/model.onnx", "llm/tensor-cache.json")
    std::string format;    // one of format::all
    std::string variant;   // TF.js: "graph-model", "layers-model" or "unknown"; ONNX: "opset 17"; else the model_type
    std::vector<std::string> dtypes;     // transformers.js: the dtypes its onnx/ files offer ("fp32", "q8", ...)
    std::vector<std::string> external;   // ONNX: its external-data files, relative to the .onnx's folder
    std::vector<std::string> notes;      // facts beside the problems ("3 shards", "tokenizer: tokenizer.json")
    std::vector<ModelFile> files;  // the first file first, then every file it needs
    std::uint64_t total_bytes = 0;
    std::vector<std::string> problems;

    bool ok() const { return problems.empty(); }
};

// A runtime package under npm/ ("npm/onnxruntime-web@1.20.1"), as fetch npm: and the npm mirror install it.
struct RuntimePackage {
    std::string name;     // "@mediapipe/tasks-vision"
    std::string version;  // "0.10.35"
    std::string path;     // "npm/@mediapipe/tasks-vision@0.10.35"
    std::vector<std::string> wasm;  // its .wasm files, relative to the root
};

struct Catalog {
    std::vector<ModelEntry> models;
    std::vector<RuntimePackage> runtimes;
    std::vector<std::string> assets;  // MediaPipe graph files (.binarypb), relative paths

    // Models of `format`, ok and broken.
    std::pair<std::size_t, std::size_t> count(std::string_view format) const;
};

// Checks one model.json (given relative to `root`) as models::read_manifest reads it: paths inside the root,
// bytes per group.
ModelEntry check_model(const std::filesystem::path& root, const std::string& manifest);

// Checks one ONNX file (relative to `root`): the protobuf, and every external-data file it names.
ModelEntry check_onnx(const std::filesystem::path& root, const std::string& file);
// Checks a transformers.js repo folder (relative to `root`; "" for the root itself): config.json, each onnx/*.onnx
// and the external-data chunks config.json declares, the tokenizer files.
ModelEntry check_transformers(const std::filesystem::path& root, const std::string& folder);
// Checks a WebLLM folder: mlc-chat-config.json, the tensor cache and every shard it lists.
ModelEntry check_webllm(const std::filesystem::path& root, const std::string& folder);
// Checks a .task bundle or a bare .tflite.
ModelEntry check_mediapipe(const std::filesystem::path& root, const std::string& file);

// Every model under `root`, in every format; a file a loader fetches as a model is always listed, broken when it
// does not parse (with where it stops). Hidden paths are skipped.
Catalog scan(const std::filesystem::path& root);

}  // namespace modelhost::models
