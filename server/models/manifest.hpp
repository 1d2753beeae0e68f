// The TF.js model.json reader: manifest text in, typed facts out (the format, each weights group's shard paths,
// weights and declared bytes), every problem named by its entry ("weightsManifest[1].paths[0]: ..."). Pure: it opens
// no file and throws nothing. The catalog, check, doctor, fetch and the mirrors read model.json only through it;
// the readers of other formats sit beside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

// Bounds on one manifest, wherever it comes from (a remote, a file under the root). Beyond them it is refused
// whole: no real model comes near them, and every caller's work stays proportional to them.
constexpr std::uint64_t max_manifest_bytes = 64u << 20;
constexpr std::size_t max_groups = 1u << 16;
constexpr std::size_t max_paths = 1u << 16;   // over all groups
constexpr std::size_t max_weights = 1u << 20; // over all groups

// The bytes one element of `dtype` takes in a shard; 0 for "string" (sized by its data) and for an unknown dtype.
std::uint64_t dtype_bytes(std::string_view dtype);

// One weight as the byte arithmetic reads it, whatever JSON it was.
struct Weight {
    std::string name = "?";             // "?" when missing or not a string
    std::string dtype;                  // the stored dtype: the quantized one when quantized; "" when missing
    bool has_shape = false;             // "shape" is an array
    std::vector<std::uint64_t> shape;   // its sizes, when every one is a non-negative integer
    std::optional<std::uint64_t> elements;  // product(shape); nothing when a size is not a count or it overflows

    // elements × dtype size; nothing for a string or unknown dtype, no element count, or an overflow.
    std::optional<std::uint64_t> bytes() const;
};

// One entry of a group's "paths".
struct ShardPath {
    std::string entry;       // "weightsManifest[1].paths[0]"
    std::string path;        // as listed; "" when the entry is not a string
    bool is_string = true;
    std::string shown;       // the entry as JSON, cut to 60 characters (it is hostile): for messages
    std::string unsafe;      // why a copy may not write it (unsafe_shard_path); "" when it may
    bool repeated = false;   // a safe path an earlier entry of the manifest lists too
};

// One element of weightsManifest.
struct WeightGroup {
    std::string entry;         // "weightsManifest[1]"
    bool has_paths = false;    // an object whose "paths" is an array
    bool has_weights = false;  // an object whose "weights" is an array
    std::vector<ShardPath> paths;
    std::vector<Weight> weights;
    // Σ product(shape) × dtype size: the bytes its shards hold together; nothing when the manifest cannot tell
    // (no weights array, a string or unknown dtype, a malformed weight, an overflow).
    std::optional<std::uint64_t> declared_bytes;
};

// A model.json as a TF.js loader reads it.
struct Manifest {
    // Why it cannot be read at all ("not valid JSON", "not a JSON object", "no weightsManifest array", a bound);
    // "" when it can. Set: `groups` is empty.
    std::string error;
    bool is_tfjs = false;     // a JSON object with a weightsManifest or modelTopology key: a TF.js model, broken or not
    bool has_topology = false;  // "modelTopology" is an object
    bool graph = false;       // ... with "node": a graph model
    std::string format = "unknown";  // "format" when a string, else "graph-model" for a graph, else "unknown"
    std::vector<std::string> problems;  // what is wrong beside that ("\"format\" is not a string")
    std::vector<WeightGroup> groups;

    bool ok() const { return error.empty(); }
};

// Reads manifest text; never throws (a hostile file costs its model, never the caller).
Manifest read_manifest(std::string_view text);

// A manifest file's text, at most max_manifest_bytes + 1 bytes of it (so that read_manifest refuses a larger one
// without it being read whole); nothing when it cannot be opened.
std::optional<std::string> manifest_file_text(const std::filesystem::path& file);

// Why a shard path must not be written beside its manifest ("" when it may): relative, without empty, ".", ".."
// or hidden segments, backslashes, colons, control characters or NUL, before and after percent-decoding (the
// decoding the server applies), and without a query or fragment.
std::string unsafe_shard_path(std::string_view path);

}  // namespace modelhost::models
