// The checks of the formats beside TF.js, each over its own reader (onnx_model, transformers_repo, webllm,
// task_bundle): a problem names the file first ("onnx/model.onnx_data: missing ..."), then what needs it.
#include "models/catalog.hpp"
#include "models/catalog_paths.hpp"
#include "models/manifest.hpp"
#include "models/onnx_model.hpp"
#include "models/task_bundle.hpp"
#include "models/transformers_repo.hpp"
#include "models/webllm.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace modelhost::models {

namespace fsys = std::filesystem;
using detail::inside;
using detail::is_file;
using detail::size_or_zero;

namespace {

// "a/b" + "c.json" -> "a/b/c.json"; "" + "c.json" -> "c.json".
std::string join(const std::string& folder, const std::string& name) { return folder.empty() ? name : folder + "/" + name; }

std::string rel_to(const fsys::path& root, const fsys::path& p) { return p.lexically_relative(root).generic_string(); }

void add_file(ModelEntry& m, const fsys::path& root, const fsys::path& p) {
    const std::string rel = rel_to(root, p);
    for (const auto& f : m.files)
        if (f.path == rel) return;
    m.files.push_back({rel, size_or_zero(p)});
}

// One external-data file against the tensors stored in it: it must exist inside the root and reach the end of
// the last of them.
void check_external_file(const fsys::path& root, const fsys::path& dir, const std::string& location,
                         const std::vector<const OnnxExternalTensor*>& tensors, const std::string& onnx, ModelEntry& m) {
    const fsys::path file = inside(root, dir, location);
    const std::string shown = file.empty() ? location : rel_to(root, file);
    if (file.empty()) {
        m.problems.push_back(onnx + ": external data \"" + location + "\" leaves the served root");
        return;
    }
    if (!is_file(file)) {
        m.problems.push_back(shown + ": missing (" + onnx + " stores " + std::to_string(tensors.size()) +
                             " tensor(s) there, the first " + tensors.front()->tensor + ")");
        return;
    }
    add_file(m, root, file);
    const std::uint64_t have = size_or_zero(file);
    const OnnxExternalTensor* worst = nullptr;
    std::uint64_t end = 0;
    for (const auto* t : tensors) {
        const std::uint64_t len = t->bytes().value_or(0);
        const std::uint64_t e = t->offset + len < t->offset ? UINT64_MAX : t->offset + len;
        if (e > end) end = e, worst = t;
    }
    if (end > have)
        m.problems.push_back(shown + ": holds " + std::to_string(have) + " bytes, tensor " + worst->tensor + " needs bytes " +
                             std::to_string(worst->offset) + " to " + std::to_string(end) + " (a copy cut short?)");
}

// The .onnx itself and its external data; the problems go to `m`, prefixed by the file's path.
void check_onnx_into(const fsys::path& root, const std::string& rel, ModelEntry& m) {
    const fsys::path file = root / rel;
    add_file(m, root, file);
    const OnnxModel model = read_onnx_file(file);
    if (!model.ok()) {
        m.problems.push_back(rel + ": " + model.error);
        return;
    }
    if (m.variant.empty() && model.opset > 0) m.variant = "opset " + std::to_string(model.opset);
    std::map<std::string, std::vector<const OnnxExternalTensor*>> by_file;
    for (const auto& t : model.external) {
        if (!t.problem.empty()) m.problems.push_back(rel + ": tensor " + t.tensor + ": " + t.problem);
        else by_file[t.location].push_back(&t);
    }
    for (const auto& [location, tensors] : by_file) {
        check_external_file(root, file.parent_path(), location, tensors, rel, m);
        if (std::find(m.external.begin(), m.external.end(), location) == m.external.end()) m.external.push_back(location);
    }
    m.notes.push_back(rel + ": " + std::to_string(model.initializers) + " initializer(s), " +
                      std::to_string(model.external.size()) + " in external data" +
                      (model.producer.empty() ? "" : ", made by " + model.producer));
}

void finish(ModelEntry& m) {
    m.total_bytes = 0;
    for (const auto& f : m.files) m.total_bytes += f.bytes;
}

// The files of a folder (not below it), by name.
std::vector<std::string> names_in(const fsys::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fsys::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string n = it->path().filename().string();
        if (!n.starts_with('.') && is_file(it->path()) && out.size() < 100000) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

ModelEntry check_onnx(const fsys::path& root, const std::string& file) {
    ModelEntry m;
    m.name = file.ends_with(".onnx") ? file.substr(0, file.size() - 5) : file;
    m.manifest = file;
    m.format = format::onnx;
    check_onnx_into(root, file, m);
    finish(m);
    return m;
}

namespace {

// The external-data chunks config.json declares for one onnx/ file, each of which transformers.js fetches.
void check_declared_chunks(const fsys::path& root, const std::string& folder, const std::string& name, unsigned chunks,
                           ModelEntry& m) {
    for (unsigned i = 0; i < chunks; ++i) {
        const std::string chunk = join(join(folder, "onnx"), external_chunk_name(name, i));
        const bool said = std::any_of(m.problems.begin(), m.problems.end(), [&](const std::string& p) { return p.starts_with(chunk + ": missing"); });
        if (is_file(root / chunk)) add_file(m, root, root / chunk);
        else if (!said)
            m.problems.push_back(chunk + ": missing (config.json's use_external_data_format declares " + std::to_string(chunks) +
                                 " chunk(s) for onnx/" + name + ")");
    }
}

void check_tokenizer(const fsys::path& root, const std::string& folder, ModelEntry& m) {
    std::vector<std::string> held;
    for (const char* n : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                          "preprocessor_config.json", "processor_config.json", "chat_template.jinja"}) {
        const fsys::path p = root / join(folder, n);
        if (is_file(p)) held.emplace_back(n), add_file(m, root, p);
    }
    auto has = [&](const char* n) { return std::find(held.begin(), held.end(), n) != held.end(); };
    if (has("tokenizer.json") != has("tokenizer_config.json"))
        m.problems.push_back(join(folder, has("tokenizer.json") ? "tokenizer_config.json" : "tokenizer.json") +
                             ": missing (transformers.js's AutoTokenizer needs tokenizer.json and tokenizer_config.json)");
    if (!held.empty()) {
        std::string line = "files:";
        for (const auto& n : held) line += " " + n;
        m.notes.push_back(line);
    }
}

}  // namespace

ModelEntry check_transformers(const fsys::path& root, const std::string& folder) {
    ModelEntry m;
    m.name = folder.empty() ? "." : folder;
    m.manifest = join(folder, "config.json");
    m.format = format::transformers;
    add_file(m, root, root / m.manifest);
    const TransformersConfig cfg = read_transformers_config(detail::head_text(root / m.manifest, max_manifest_bytes + 1));
    if (!cfg.error.empty()) m.problems.push_back(m.manifest + ": " + cfg.error);
    for (const auto& p : cfg.problems) m.problems.push_back(m.manifest + ": " + p);
    m.variant = cfg.model_type;
    std::set<std::string> dtypes;
    for (const auto& name : names_in(root / join(folder, "onnx"))) {
        auto v = onnx_variant(name);
        if (!v) continue;
        dtypes.insert(v->dtype);
        check_onnx_into(root, join(join(folder, "onnx"), name), m);
        check_declared_chunks(root, folder, name, cfg.external_chunks(name, v->model), m);
    }
    m.dtypes.assign(dtypes.begin(), dtypes.end());
    check_tokenizer(root, folder, m);
    finish(m);
    return m;
}

namespace {

void check_shards(const fsys::path& root, const std::string& folder, const std::string& cache_file, ModelEntry& m) {
    const WebllmCache cache = read_webllm_cache(detail::head_text(root / cache_file, max_manifest_bytes + 1));
    if (!cache.ok()) {
        m.problems.push_back(cache_file + ": " + cache.error);
        return;
    }
    for (const auto& s : cache.shards) {
        if (!s.problem.empty()) {
            m.problems.push_back(cache_file + ": " + s.entry + " " + s.problem);
            continue;
        }
        const fsys::path shard = inside(root, root / folder, s.path);
        const std::string shown = shard.empty() ? s.path : rel_to(root, shard);
        if (shard.empty()) m.problems.push_back(cache_file + ": " + s.entry + " dataPath leaves the served root");
        else if (!is_file(shard)) m.problems.push_back(shown + ": missing (" + cache_file + " lists it in " + s.entry + ")");
        else if (size_or_zero(shard) < s.nbytes)
            m.problems.push_back(shown + ": holds " + std::to_string(size_or_zero(shard)) + " bytes, " + cache_file + "'s " +
                                 s.entry + " declares " + std::to_string(s.nbytes) + " (a copy cut short?)");
        if (!shard.empty() && is_file(shard)) add_file(m, root, shard);
    }
    m.notes.push_back(std::to_string(cache.shards.size()) + " shard(s), " + std::to_string(cache.total_bytes) + " bytes of weights");
}

void check_chat_config(const fsys::path& root, const std::string& folder, ModelEntry& m) {
    const std::string file = join(folder, "mlc-chat-config.json");
    if (!is_file(root / file)) {
        m.problems.push_back(file + ": missing (WebLLM fetches it first)");
        return;
    }
    add_file(m, root, root / file);
    const MlcChatConfig cfg = read_mlc_chat_config(detail::head_text(root / file, max_manifest_bytes + 1));
    if (!cfg.error.empty()) m.problems.push_back(file + ": " + cfg.error);
    for (const auto& p : cfg.problems) m.problems.push_back(file + ": " + p);
    m.variant = cfg.model_type;
    for (const auto& t : cfg.tokenizer_files) {
        const fsys::path p = inside(root, root / folder, t);
        if (p.empty() || !is_file(p)) m.problems.push_back(join(folder, t) + ": missing (mlc-chat-config.json's tokenizer_files lists it)");
        else add_file(m, root, p);
    }
}

}  // namespace

ModelEntry check_webllm(const fsys::path& root, const std::string& folder) {
    ModelEntry m;
    m.name = folder.empty() ? "." : folder;
    m.format = format::webllm;
    // The name the runtime asks for first; modelhost answers either name from the one held (hf_layout.cpp).
    const std::string current = join(folder, "tensor-cache.json"), older = join(folder, "ndarray-cache.json");
    m.manifest = is_file(root / current) || !is_file(root / older) ? current : older;
    check_chat_config(root, folder, m);
    if (!is_file(root / m.manifest)) {
        m.problems.push_back(m.manifest + ": missing, and no ndarray-cache.json either: WebLLM's load fails on its 404");
    } else {
        add_file(m, root, root / m.manifest);
        check_shards(root, folder, m.manifest, m);
    }
    finish(m);
    return m;
}

ModelEntry check_mediapipe(const fsys::path& root, const std::string& file) {
    ModelEntry m;
    const bool task = file.ends_with(".task");
    m.name = file.substr(0, file.rfind('.'));
    m.manifest = file;
    m.format = task ? format::mediapipe : format::tflite;
    add_file(m, root, root / file);
    if (!task) {
        if (std::string why = tflite_file_problem(root / file); !why.empty()) m.problems.push_back(file + ": " + why);
    } else {
        const TaskBundle b = read_task_file(root / file);
        for (const auto& p : b.problems()) m.problems.push_back(file + ": " + p);
        std::string entries;
        for (const auto& e : b.entries) entries += " " + e.name;
        if (b.bare_tflite) m.notes.push_back("a bare TFLite model named .task");
        else if (!entries.empty()) m.notes.push_back("entries:" + entries);
        m.variant = b.bare_tflite ? "tflite" : std::to_string(b.entries.size()) + (b.entries.size() == 1 ? " entry" : " entries");
    }
    finish(m);
    return m;
}

}  // namespace modelhost::models
