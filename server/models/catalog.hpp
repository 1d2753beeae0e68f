// The model catalog: TF.js model.json files under the root, validated against the bytes their shards hold.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelhost::models {

// One file of a model, path relative to the root.
struct ModelFile {
    std::string path;
    std::uint64_t bytes = 0;
};

// A TF.js model (graph or layers) and what is wrong with it, in words that name the group, shard and byte counts.
struct ModelEntry {
    std::string name;      // the model.json path relative to the root, without "/model.json" ("face/mesh")
    std::string manifest;  // "face/mesh/model.json"
    std::string format;    // "graph-model", "layers-model", or "unknown"
    std::vector<ModelFile> files;  // model.json first, then every shard
    std::uint64_t total_bytes = 0;
    std::vector<std::string> problems;

    bool ok() const { return problems.empty(); }
};

struct Catalog {
    std::vector<ModelEntry> models;
    std::vector<std::string> assets;  // MediaPipe files (.task, .tflite, .binarypb, .wasm), relative paths
};

// Checks one model.json (given relative to `root`) as models::read_manifest reads it: paths inside the root,
// bytes per group.
ModelEntry check_model(const std::filesystem::path& root, const std::string& manifest);

// Every TF.js model under `root`: each model.json whatever it holds (unparsable: broken, with where it stops), and any
// other JSON file models::read_manifest calls TF.js; hidden paths skipped.
Catalog scan(const std::filesystem::path& root);

}  // namespace modelhost::models
