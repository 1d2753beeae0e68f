// WebLLM's tokenizer rule (mlc-ai/web-llm src/cache_util.ts): tokenizer.json when tokenizer_files lists it, else
// tokenizer.model, else the load fails.
#include "models/webllm.hpp"

#include "models/json_text.hpp"
#include "models/manifest.hpp"

#include <algorithm>

namespace modelhost::models {

namespace {

using json = nlohmann::json;

std::optional<std::uint64_t> count_of(const json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return std::nullopt;
}

WebllmShard shard_of(const json& r, std::size_t i) {
    WebllmShard s;
    s.entry = "records[" + std::to_string(i) + "]";
    if (!r.is_object()) {
        s.problem = "is not an object";
        return s;
    }
    auto path = r.find("dataPath");
    auto bytes = r.find("nbytes");
    auto tensors = r.find("records");
    if (tensors != r.end() && tensors->is_array()) s.tensors = tensors->size();
    if (path == r.end() || !path->is_string()) s.problem = "has no dataPath string";
    else if (std::string why = unsafe_shard_path(path->get_ref<const std::string&>()); !why.empty())
        s.problem = "dataPath " + path->dump().substr(0, 80) + " " + why;
    else if (bytes == r.end() || !count_of(*bytes)) s.problem = "has no nbytes byte count";
    if (!s.problem.empty()) return s;
    s.path = path->get<std::string>();
    s.nbytes = *count_of(*bytes);
    return s;
}

}  // namespace

WebllmCache read_webllm_cache(std::string_view text) {
    WebllmCache c;
    json doc;
    c.error = read_json_object(text, doc, max_manifest_bytes);
    if (!c.ok()) return c;
    auto records = doc.find("records");
    if (records == doc.end() || !records->is_array()) {
        c.error = "no \"records\" array of shards";
        return c;
    }
    if (records->size() > max_webllm_shards) {
        c.error = "lists " + std::to_string(records->size()) + " shards, more than " + std::to_string(max_webllm_shards);
        return c;
    }
    for (std::size_t i = 0; i < records->size(); ++i) {
        c.shards.push_back(shard_of((*records)[i], i));
        const auto& s = c.shards.back();
        if (s.problem.empty() && c.total_bytes + s.nbytes >= c.total_bytes) c.total_bytes += s.nbytes;
    }
    return c;
}

MlcChatConfig read_mlc_chat_config(std::string_view text) {
    MlcChatConfig m;
    json doc;
    m.error = read_json_object(text, doc, max_manifest_bytes);
    if (!m.error.empty()) return m;
    m.model_type = string_member(doc, "model_type");
    auto files = doc.find("tokenizer_files");
    if (files == doc.end() || !files->is_array()) {
        m.problems.push_back("no tokenizer_files list: WebLLM finds no tokenizer");
        return m;
    }
    for (std::size_t i = 0; i < files->size() && i < 64; ++i) {
        const json& f = (*files)[i];
        std::string why = f.is_string() ? unsafe_shard_path(f.get_ref<const std::string&>()) : "is not a string";
        if (why.empty()) m.tokenizer_files.push_back(f.get<std::string>());
        else m.problems.push_back("tokenizer_files[" + std::to_string(i) + "] " + why);
    }
    auto has = [&](const char* n) { return std::find(m.tokenizer_files.begin(), m.tokenizer_files.end(), n) != m.tokenizer_files.end(); };
    if (!has("tokenizer.json") && !has("tokenizer.model"))
        m.problems.push_back("tokenizer_files lists neither tokenizer.json nor tokenizer.model: WebLLM cannot load a tokenizer");
    return m;
}

}  // namespace modelhost::models
