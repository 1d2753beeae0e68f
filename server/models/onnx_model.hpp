// The ONNX reader: a ModelProto (onnx/onnx.proto, IR version 3 and later) read with libprotobuf-lite's wire-format
// API (google::protobuf::io::CodedInputStream), not ONNX's generated code: it keeps only what a host must know (the
// opset, the producer, and every tensor whose bytes sit in another file), and skips the rest, weights included,
// without reading them. Read as hostile: every length is checked against the bytes the file really has, so a copy
// cut short is named as such ("cut short at byte N"), never read past; nesting, names and counts are bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

// Bounds on what one model file may make the reader keep (beyond them it is refused whole).
constexpr std::size_t max_onnx_external_tensors = 1u << 20;
constexpr std::size_t max_onnx_name_bytes = 4096;   // a tensor's name, an external-data key or value
constexpr std::size_t max_onnx_graph_depth = 16;    // If/Loop/Scan bodies inside bodies

// One tensor whose bytes are stored outside the .onnx (data_location EXTERNAL), as its external_data entries say.
struct OnnxExternalTensor {
    std::string tensor;    // its name ("?" when it has none)
    std::string location;  // the file, relative to the .onnx's folder, as written ("" when missing)
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;   // as declared; nothing when absent (the runtime then reads `implied`)
    std::optional<std::uint64_t> implied;  // product(dims) × the element size; nothing for strings or an overflow
    std::string problem;   // what is wrong with the entry itself ("" when nothing): an unsafe location, a bad number

    // The bytes the runtime reads from `location`: the declared length, else the implied one.
    std::optional<std::uint64_t> bytes() const { return length ? length : implied; }
};

struct OnnxModel {
    // Why the file is not a readable ONNX model ("cut short at byte 1048576: ..."); "" when it is.
    std::string error;
    std::uint64_t file_bytes = 0;
    std::int64_t ir_version = 0;
    std::int64_t opset = 0;          // the default domain's opset version; 0 when none is imported
    std::string producer;            // "pytorch 2.1.0"
    std::size_t initializers = 0;    // in every graph, sparse ones counted once
    std::vector<OnnxExternalTensor> external;

    bool ok() const { return error.empty(); }
};

// Reads a model held in memory (the fuzz target's entry point).
OnnxModel read_onnx(std::string_view bytes);
// Reads a model file, skipping what it does not keep with a seek (a 2 GB model costs a few reads, not 2 GB).
OnnxModel read_onnx_file(const std::filesystem::path& file);

}  // namespace modelhost::models
