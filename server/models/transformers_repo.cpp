// The per-file lookup tries the file's whole name first, then the model's name, as getSession does.
#include "models/transformers_repo.hpp"

#include "models/json_text.hpp"
#include "models/manifest.hpp"

#include <array>
#include <utility>

namespace modelhost::models {

namespace {

using json = nlohmann::json;

// Longest first, so "_q4f16" is not read as "_q4"... then "f16". (transformers.js v4 adds q2 and q1.)
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> suffixes{{
    {"_quantized", "q8"}, {"_q4f16", "q4f16"}, {"_q2f16", "q2f16"}, {"_q1f16", "q1f16"}, {"_uint8", "uint8"},
    {"_fp16", "fp16"}, {"_int8", "int8"}, {"_bnb4", "bnb4"}, {"_q4", "q4"}, {"_q2", "q2"}, {"_q1", "q1"}}};

// A chunk count from a boolean (1 or 0) or a non-negative integer; why not, otherwise.
std::string chunks_of(const json& v, unsigned& out) {
    if (v.is_boolean()) return out = v.get<bool>() ? 1 : 0, "";
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= max_external_data_chunks)
        return out = static_cast<unsigned>(v.get<std::int64_t>()), "";
    return "is " + v.dump().substr(0, 40) + ": a boolean or a chunk count from 0 to " + std::to_string(max_external_data_chunks);
}

void read_external(const json& v, TransformersConfig& c) {
    const std::string where = "transformers.js_config.use_external_data_format";
    unsigned n = 0;
    if (!v.is_object()) {
        if (std::string why = chunks_of(v, n); why.empty()) c.external_all = n;
        else c.problems.push_back(where + " " + why);
        return;
    }
    for (const auto& [key, value] : v.items()) {
        if (c.external_by_file.size() == 4096) break;
        if (std::string why = chunks_of(value, n); why.empty()) c.external_by_file[key.substr(0, 256)] = n;
        else c.problems.push_back(where + "[\"" + key.substr(0, 80) + "\"] " + why);
    }
}

}  // namespace

std::optional<OnnxVariant> onnx_variant(std::string_view name) {
    if (!name.ends_with(".onnx") || name.size() == 5) return std::nullopt;
    std::string_view stem = name.substr(0, name.size() - 5);
    for (const auto& [suffix, dtype] : suffixes)
        if (stem.size() > suffix.size() && stem.ends_with(suffix))
            return OnnxVariant{std::string(stem.substr(0, stem.size() - suffix.size())), std::string(dtype)};
    return OnnxVariant{std::string(stem), "fp32"};
}

std::string external_chunk_name(std::string_view file, unsigned i) {
    std::string out(file);
    out += "_data";
    if (i > 0) out.append("_").append(std::to_string(i));
    return out;
}

unsigned TransformersConfig::external_chunks(std::string_view file, std::string_view model) const {
    if (auto it = external_by_file.find(std::string(file)); it != external_by_file.end()) return it->second;
    if (auto it = external_by_file.find(std::string(model)); it != external_by_file.end()) return it->second;
    return external_all.value_or(0);
}

TransformersConfig read_transformers_config(std::string_view text) {
    TransformersConfig c;
    json doc;
    c.error = read_json_object(text, doc, max_manifest_bytes);
    if (!c.error.empty()) return c;
    c.model_type = string_member(doc, "model_type");
    if (auto a = doc.find("architectures"); a != doc.end() && a->is_array() && !a->empty() && (*a)[0].is_string())
        c.architecture = (*a)[0].get<std::string>().substr(0, 120);
    auto js = doc.find("transformers.js_config");
    if (js == doc.end()) return c;
    if (!js->is_object()) {
        c.problems.push_back("transformers.js_config is not an object");
        return c;
    }
    if (auto e = js->find("use_external_data_format"); e != js->end()) read_external(*e, c);
    return c;
}

}  // namespace modelhost::models
