// A table for people, --json for machines; the problems name the model, group, shard and byte counts.
#include "tools/check.hpp"

#include "base/args.hpp"

#include "models/catalog.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

namespace modelhost::tools {

namespace {

void print_help() {
    std::printf(
        "Usage: modelhost check DIR [--json]\n\n"
        "Finds every model a browser loader fetches under DIR, in each format, and checks it against the bytes its\n"
        "files hold:\n"
        "  tfjs             model.json: each shard inside DIR, each group's shards exactly the bytes its weights\n"
        "                   declare (shape x dtype size, quantized and string weights included)\n"
        "  onnx             *.onnx: the protobuf whole (a copy cut short is named), each external-data file present\n"
        "                   and long enough for the tensors stored in it\n"
        "  transformers.js  a folder with config.json and onnx/*.onnx: each ONNX file, the external-data chunks\n"
        "                   config.json's use_external_data_format declares, the tokenizer files; its dtypes\n"
        "  mediapipe        *.task: a zip of stored entries, each .tflite entry a TFLite model (\"TFL3\")\n"
        "  tflite           a bare *.tflite: the same identifier check\n"
        "  webllm           a folder with mlc-chat-config.json and tensor-cache.json (or ndarray-cache.json): every\n"
        "                   shard present with at least its nbytes, the tokenizer files\n"
        "A file a loader fetches as a model is always listed: one that does not parse is broken, with where it\n"
        "stops. Runtime packages under npm/ (name, version, .wasm files) and MediaPipe graphs (.binarypb) are\n"
        "listed too.\n\n"
        "  --json   one JSON document instead of the table\n\n"
        "Exit codes: 0 every model is valid, 1 a model is broken (or none was found), 2 bad usage.\n");
}

nlohmann::json to_json(const models::Catalog& c) {
    auto out = nlohmann::json::object();
    out["models"] = nlohmann::json::array();
    for (const auto& m : c.models) {
        auto files = nlohmann::json::array();
        for (const auto& f : m.files) files.push_back({{"path", f.path}, {"bytes", f.bytes}});
        nlohmann::json entry = {{"name", m.name}, {"manifest", m.manifest}, {"format", m.format}, {"variant", m.variant},
                                {"files", files}, {"total_bytes", m.total_bytes}, {"status", m.ok() ? "ok" : "broken"},
                                {"problems", m.problems}, {"notes", m.notes}};
        if (m.format == models::format::transformers) entry["dtypes"] = m.dtypes;
        if (m.format == models::format::onnx) entry["external_data"] = m.external;
        out["models"].push_back(std::move(entry));
    }
    out["runtimes"] = nlohmann::json::array();
    for (const auto& r : c.runtimes)
        out["runtimes"].push_back({{"name", r.name}, {"version", r.version}, {"path", r.path}, {"wasm", r.wasm}});
    out["assets"] = c.assets;
    return out;
}

void print_table(const models::Catalog& c, const std::string& dir) {
    std::printf("%-40s %-26s %5s %12s  %s\n", "MODEL", "FORMAT", "FILES", "BYTES", "STATUS");
    for (const auto& m : c.models) {
        std::string kind = m.format + (m.variant.empty() ? "" : "/" + m.variant);
        std::printf("%-40s %-26s %5zu %12llu  %s\n", m.name.c_str(), kind.c_str(), m.files.size(),
                    static_cast<unsigned long long>(m.total_bytes), m.ok() ? "ok" : "BROKEN");
    }
    for (const auto& m : c.models)
        for (const auto& p : m.problems) std::printf("%s: %s\n", m.name.c_str(), p.c_str());
    for (const auto& r : c.runtimes)
        std::printf("runtime %s@%s: %zu .wasm file(s)\n", r.name.c_str(), r.version.c_str(), r.wasm.size());
    if (!c.assets.empty()) std::printf("%zu MediaPipe graph(s), e.g. %s\n", c.assets.size(), c.assets.front().c_str());
    if (c.models.empty()) std::printf("no model found under %s\n", dir.c_str());
}

}  // namespace

int check_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("check", args, {{"--json", false}}, 1);
    if (!parsed.error.empty()) return usage_error("check", parsed.error);
    if (parsed.help) return print_help(), 0;
    if (parsed.positionals.empty()) return usage_error("check", "missing DIR, the folder to check (see modelhost check --help)");
    const std::string& dir = parsed.positionals[0];
    const bool as_json = parsed.has("--json");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return usage_error("check", "DIR \"" + dir + "\" is not a directory");

    models::Catalog c = models::scan(dir);
    bool all_ok = !c.models.empty();
    for (const auto& m : c.models) all_ok = all_ok && m.ok();
    if (as_json) {
        std::printf("%s\n", to_json(c).dump(2).c_str());
        return all_ok ? 0 : 1;
    }
    print_table(c, dir);
    return all_ok ? 0 : 1;
}

}  // namespace modelhost::tools
