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
        "Finds every TF.js model (graph or layers model.json) under DIR and checks that each shard path its\n"
        "manifest lists exists inside DIR and that each group's shards hold exactly the bytes its weights\n"
        "declare (product of shape x dtype size, quantized dtypes and string weights included). Every file named\n"
        "model.json is listed: one that does not parse (a copy cut short, an array) is broken, with the byte where\n"
        "it stops. MediaPipe assets (.task, .tflite, .binarypb) are listed.\n\n"
        "  --json   one JSON document instead of the table\n\n"
        "Exit codes: 0 every model is valid, 1 a model is broken (or none was found), 2 bad usage.\n");
}

nlohmann::json to_json(const models::Catalog& c) {
    auto out = nlohmann::json::object();
    out["models"] = nlohmann::json::array();
    for (const auto& m : c.models) {
        auto files = nlohmann::json::array();
        for (const auto& f : m.files) files.push_back({{"path", f.path}, {"bytes", f.bytes}});
        out["models"].push_back({{"name", m.name}, {"manifest", m.manifest}, {"format", m.format}, {"files", files},
                                 {"total_bytes", m.total_bytes}, {"status", m.ok() ? "ok" : "broken"},
                                 {"problems", m.problems}});
    }
    out["assets"] = c.assets;
    return out;
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
    std::printf("%-40s %-13s %5s %12s  %s\n", "MODEL", "FORMAT", "FILES", "BYTES", "STATUS");
    for (const auto& m : c.models)
        std::printf("%-40s %-13s %5zu %12llu  %s\n", m.name.c_str(), m.format.c_str(), m.files.size(),
                    static_cast<unsigned long long>(m.total_bytes), m.ok() ? "ok" : "BROKEN");
    for (const auto& m : c.models)
        for (const auto& p : m.problems) std::printf("%s: %s\n", m.name.c_str(), p.c_str());
    if (!c.assets.empty()) std::printf("%zu MediaPipe asset(s), e.g. %s\n", c.assets.size(), c.assets.front().c_str());
    if (c.models.empty()) std::printf("no TF.js model.json found under %s\n", dir.c_str());
    return all_ok ? 0 : 1;
}

}  // namespace modelhost::tools
