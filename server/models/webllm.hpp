// The WebLLM (MLC) readers: `mlc-chat-config.json`, and the tensor cache (`tensor-cache.json`, called
// `ndarray-cache.json` before apache/tvm #18275) that lists the weight shards (apache/tvm web/src/artifact_cache.ts:
// {"metadata": {...}, "records": [{"dataPath", "format": "raw-shard", "nbytes", "records": [tensor...]}]}). Pure:
// text in, facts out; every problem names its record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

constexpr std::size_t max_webllm_shards = 1u << 16;

// One shard record of the tensor cache.
struct WebllmShard {
    std::string entry;   // "records[12]"
    std::string path;    // dataPath as written ("params_shard_12.bin"); "" when missing or unsafe
    std::uint64_t nbytes = 0;
    std::size_t tensors = 0;  // its "records"
    std::string problem; // "" when the record itself is sound
};

struct WebllmCache {
    std::string error;   // why the cache cannot be read at all; "" when it can
    std::vector<WebllmShard> shards;
    std::uint64_t total_bytes = 0;  // Σ nbytes over sound records

    bool ok() const { return error.empty(); }
};

WebllmCache read_webllm_cache(std::string_view text);

struct MlcChatConfig {
    std::string error;
    std::string model_type;                  // "llama", "" when absent
    std::vector<std::string> tokenizer_files;  // as listed, safe relative paths only
    std::vector<std::string> problems;       // an unsafe or non-string tokenizer file, no tokenizer.json nor .model
};

MlcChatConfig read_mlc_chat_config(std::string_view text);

}  // namespace modelhost::models
