// Manifest arithmetic: a group's shards, concatenated, hold exactly Σ product(shape) × dtype size bytes
// (quantized weights use the quantized dtype; string weights are read: uint32 length + bytes per element).
#include "models/catalog.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace modelhost::models {

namespace fsys = std::filesystem;
using json = nlohmann::json;

namespace {

std::uint64_t dtype_bytes(const std::string& dtype) {
    if (dtype == "float32" || dtype == "int32" || dtype == "uint32") return 4;
    if (dtype == "float16" || dtype == "uint16" || dtype == "int16") return 2;
    if (dtype == "uint8" || dtype == "int8" || dtype == "bool") return 1;
    if (dtype == "complex64" || dtype == "float64" || dtype == "int64") return 8;
    return 0;
}

// The shards of one group as one byte sequence, for reading string weights' length prefixes.
struct GroupBytes {
    std::vector<std::pair<fsys::path, std::uint64_t>> shards;
    bool read_u32(std::uint64_t offset, std::uint32_t& out) const {
        unsigned char b[4];
        for (int i = 0; i < 4; ++i) {
            std::uint64_t at = offset + static_cast<std::uint64_t>(i);
            bool got = false;
            for (const auto& [path, size] : shards) {
                if (at < size) {
                    std::ifstream in(path, std::ios::binary);
                    in.seekg(static_cast<std::streamoff>(at));
                    got = static_cast<bool>(in.read(reinterpret_cast<char*>(&b[i]), 1));
                    break;
                }
                at -= size;
            }
            if (!got) return false;
        }
        out = static_cast<std::uint32_t>(b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24));
        return true;
    }
};

// Bytes the group's weights need; a string weight's size comes from the data itself. Problems go to `problems`.
std::uint64_t needed_bytes(const json& weights, const GroupBytes& data, const std::string& where,
                           std::vector<std::string>& problems) {
    std::uint64_t need = 0;
    for (const auto& w : weights) {
        std::string name = w.value("name", std::string("?"));
        std::uint64_t count = 1;
        if (!w.contains("shape") || !w["shape"].is_array()) {
            problems.push_back(where + " weight " + name + ": no shape");
            continue;
        }
        for (const auto& d : w["shape"]) count *= d.is_number_unsigned() || d.is_number_integer() ? d.get<std::uint64_t>() : 0;
        std::string dtype = w.value("dtype", std::string());
        if (w.contains("quantization") && w["quantization"].is_object()) dtype = w["quantization"].value("dtype", dtype);
        if (dtype == "string") {
            for (std::uint64_t i = 0; i < count; ++i) {
                std::uint32_t len = 0;
                if (!data.read_u32(need, len)) {
                    problems.push_back(where + " weight " + name + ": string data runs past the end of the shards");
                    return need + 4;
                }
                need += 4 + len;
            }
        } else if (std::uint64_t size = dtype_bytes(dtype); size != 0) {
            need += count * size;
        } else {
            problems.push_back(where + " weight " + name + ": unknown dtype \"" + dtype + "\"");
        }
    }
    return need;
}

// Compares each shard with the size the converter would have written (all but the last hold the same size).
void check_shard_sizes(const GroupBytes& g, const std::vector<std::string>& names, std::uint64_t need,
                       const std::string& where, std::vector<std::string>& problems) {
    std::uint64_t have = 0, largest = 0;
    for (const auto& s : g.shards) have += s.second, largest = std::max(largest, s.second);
    if (have == need) return;
    std::uint64_t left = need;
    bool named = false;
    for (std::size_t i = 0; i < g.shards.size(); ++i) {
        std::uint64_t expect = i + 1 == g.shards.size() ? left : std::min(left, largest);
        if (g.shards[i].second != expect) {
            problems.push_back(where + " shard " + names[i] + ": holds " + std::to_string(g.shards[i].second) +
                               " bytes, the manifest needs " + std::to_string(expect));
            named = true;
        }
        left -= std::min(left, expect);
    }
    if (!named)
        problems.push_back(where + ": shards hold " + std::to_string(have) + " bytes, the weights need " + std::to_string(need));
}

// The shard path as a file inside the root, or empty when it would leave the root.
fsys::path inside(const fsys::path& root, const fsys::path& model_dir, const std::string& rel) {
    if (rel.empty() || fsys::path(rel).is_absolute()) return {};
    fsys::path full = (model_dir / rel).lexically_normal();
    auto r = full.lexically_relative(root);
    if (r.empty() || *r.begin() == "..") return {};
    std::error_code ec;
    auto real = fsys::weakly_canonical(full, ec), real_root = fsys::weakly_canonical(root, ec);
    auto rr = real.lexically_relative(real_root);
    if (ec || rr.empty() || *rr.begin() == "..") return {};
    return full;
}

}  // namespace

ModelEntry check_model(const fsys::path& root, const std::string& manifest) {
    ModelEntry m;
    m.manifest = manifest;
    m.name = manifest.ends_with("/model.json") ? manifest.substr(0, manifest.size() - 11) : manifest;
    m.format = "unknown";
    fsys::path file = root / manifest;
    std::error_code ec;
    m.files.push_back({manifest, fsys::file_size(file, ec)});
    json doc;
    try {
        std::ifstream in(file, std::ios::binary);
        doc = json::parse(in);
    } catch (const std::exception& e) {
        m.problems.push_back(manifest + ": not valid JSON (" + std::string(e.what()) + ")");
        return m;
    }
    m.format = doc.value("format", doc.contains("modelTopology") && doc["modelTopology"].contains("node") ? "graph-model" : "unknown");
    if (!doc.contains("weightsManifest") || !doc["weightsManifest"].is_array()) {
        m.problems.push_back(manifest + ": no weightsManifest array");
        return m;
    }
    const auto& groups = doc["weightsManifest"];
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        std::string where = "group " + std::to_string(gi);
        const json& g = groups[gi];
        if (!g.contains("paths") || !g["paths"].is_array() || !g.contains("weights") || !g["weights"].is_array()) {
            m.problems.push_back(where + ": needs \"paths\" and \"weights\" arrays");
            continue;
        }
        GroupBytes data;
        std::vector<std::string> names;
        bool complete = true;
        for (const auto& p : g["paths"]) {
            std::string rel = p.is_string() ? p.get<std::string>() : "";
            fsys::path shard = inside(root, file.parent_path(), rel);
            if (shard.empty()) {
                m.problems.push_back(where + " shard \"" + rel + "\": path leaves the served root");
                complete = false;
                continue;
            }
            std::uint64_t size = fsys::is_regular_file(shard, ec) ? fsys::file_size(shard, ec) : 0;
            if (!fsys::is_regular_file(shard, ec)) {
                m.problems.push_back(where + " shard " + rel + ": missing");
                complete = false;
                continue;
            }
            data.shards.emplace_back(shard, size);
            names.push_back(rel);
            m.files.push_back({shard.lexically_relative(root).string(), size});
        }
        std::uint64_t need = needed_bytes(g["weights"], data, where, m.problems);
        if (complete) check_shard_sizes(data, names, need, where, m.problems);
    }
    for (const auto& f : m.files) m.total_bytes += f.bytes;
    return m;
}

Catalog scan(const fsys::path& root) {
    Catalog c;
    std::error_code ec;
    for (auto it = fsys::recursive_directory_iterator(root, ec); !ec && it != fsys::recursive_directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.starts_with('.')) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file()) continue;
        std::string rel = it->path().lexically_relative(root).string();
        auto ext = it->path().extension().string();
        if (ext == ".task" || ext == ".tflite" || ext == ".binarypb") c.assets.push_back(rel);
        if (ext != ".json" || it->file_size() > (64u << 20)) continue;
        std::ifstream in(it->path(), std::ios::binary);
        json doc = json::parse(in, nullptr, false);
        if (doc.is_object() && (doc.contains("weightsManifest") || doc.contains("modelTopology"))) c.models.push_back(check_model(root, rel));
    }
    auto by_name = [](const ModelEntry& a, const ModelEntry& b) { return a.manifest < b.manifest; };
    std::sort(c.models.begin(), c.models.end(), by_name);
    std::sort(c.assets.begin(), c.assets.end());
    return c;
}

}  // namespace modelhost::models
