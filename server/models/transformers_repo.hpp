// The transformers.js reader: how transformers.js (v3, src/models.js getSession; src/utils/dtypes.js) names the
// files of a Hugging Face repo folder it loads, and what its `config.json` declares about them. A model's ONNX file
// is `onnx/{name}{suffix}.onnx`, the suffix naming the dtype ("" fp32, "_fp16", "_int8", "_uint8", "_quantized" q8,
// "_q4", "_q4f16", "_bnb4"); its weights may sit in external-data chunks `{file}_data`, `{file}_data_1`, ...
// as many as `transformers.js_config.use_external_data_format` says (a boolean, a count, or either per file).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

constexpr unsigned max_external_data_chunks = 100;  // transformers.js's MAX_EXTERNAL_DATA_CHUNKS

// "model_q4f16.onnx" -> {"model", "q4f16"}; "decoder_model_merged.onnx" -> {"decoder_model_merged", "fp32"}.
struct OnnxVariant {
    std::string model;
    std::string dtype;
};
std::optional<OnnxVariant> onnx_variant(std::string_view file_name);

// The name of external-data chunk `i` of `file` ("model.onnx" -> "model.onnx_data", "model.onnx_data_1").
std::string external_chunk_name(std::string_view file, unsigned i);

struct TransformersConfig {
    std::string error;         // config.json cannot be read at all; "" when it can
    std::string model_type;    // "bert"; "" when absent
    std::string architecture;  // the first of "architectures"
    std::optional<unsigned> external_all;       // use_external_data_format as one value for every file
    std::map<std::string, unsigned> external_by_file;  // ... or per file ("model_fp16.onnx" or "model")
    std::vector<std::string> problems;

    // How many external-data chunks transformers.js fetches for `file` ("model_q4.onnx" of model "model").
    unsigned external_chunks(std::string_view file, std::string_view model) const;
};

TransformersConfig read_transformers_config(std::string_view text);

}  // namespace modelhost::models
