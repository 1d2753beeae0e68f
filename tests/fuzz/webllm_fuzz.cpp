// JSON -> the WebLLM readers (models/webllm.cpp): the tensor cache and mlc-chat-config.json. Any text costs only its
// own verdict; a shard record without a problem has a safe dataPath, and the total is the sum of the sound ones.
#include "fuzz_check.hpp"
#include "models/manifest.hpp"
#include "models/webllm.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto cache = modelhost::models::read_webllm_cache(text);
    FUZZ_CHECK(cache.ok() || cache.shards.empty());
    std::uint64_t total = 0;
    bool overflow = false;
    for (const auto& s : cache.shards) {
        if (!s.problem.empty()) continue;
        FUZZ_CHECK(modelhost::models::unsafe_shard_path(s.path).empty());
        overflow = overflow || total + s.nbytes < total;
        total += s.nbytes;
    }
    FUZZ_CHECK(overflow || total == cache.total_bytes);
    const auto chat = modelhost::models::read_mlc_chat_config(text);
    for (const auto& f : chat.tokenizer_files) FUZZ_CHECK(modelhost::models::unsafe_shard_path(f).empty());
    return 0;
}
