// Manifest arithmetic: a group's shards, concatenated, hold exactly Σ product(shape) × dtype size bytes
// (quantized weights use the quantized dtype; string weights are read: uint32 length + bytes per element).
#include "models/catalog.hpp"
#include "models/manifest.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>

namespace modelhost::models {

namespace fsys = std::filesystem;

namespace {

// The shards of one group as one byte sequence, read forward only (string weights' length prefixes).
struct GroupBytes {
    std::vector<std::pair<fsys::path, std::uint64_t>> shards;

    std::uint64_t total() const {
        std::uint64_t t = 0;
        for (const auto& s : shards) t += s.second;
        return t;
    }
    // The 4 bytes at `offset` (little-endian); offsets must not decrease between calls.
    bool read_u32(std::uint64_t offset, std::uint32_t& out) {
        unsigned char b[4];
        for (int i = 0; i < 4; ++i)
            if (!byte_at(offset + static_cast<std::uint64_t>(i), b[i])) return false;
        out = static_cast<std::uint32_t>(b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24));
        return true;
    }

private:
    bool byte_at(std::uint64_t at, unsigned char& out) {
        std::size_t i = 0;
        std::uint64_t base = 0;
        while (i < shards.size() && at >= base + shards[i].second) base += shards[i++].second;
        if (i == shards.size()) return false;
        if (i != open_ || !in_.is_open()) {
            in_.close();
            in_.clear();
            in_.open(shards[i].first, std::ios::binary);
            open_ = i;
        }
        in_.seekg(static_cast<std::streamoff>(at - base));
        char c;
        if (!in_.get(c)) return false;
        out = static_cast<unsigned char>(c);
        return true;
    }

    std::ifstream in_;
    std::size_t open_ = 0;
};

// Bytes the group's weights need; a string weight's size comes from the data itself. Problems go to `problems`.
std::uint64_t needed_bytes(const std::vector<Weight>& weights, GroupBytes& data, const std::string& where,
                           std::vector<std::string>& problems) {
    std::uint64_t need = 0;
    const std::uint64_t have = data.total();
    for (const Weight& w : weights) {
        const std::string& name = w.name;
        const std::string& dtype = w.dtype;
        const auto& count = w.elements;
        if (!w.has_shape) {
            problems.push_back(where + " weight " + name + ": no shape");
            continue;
        }
        if (!count) {
            problems.push_back(where + " weight " + name + ": shape is not a list of sizes or its product overflows");
            continue;
        }
        if (dtype == "string") {
            // Each element is a uint32 length and its bytes: more elements than the shards can hold fail at once.
            if (*count > (have - std::min(have, need)) / 4) {
                problems.push_back(where + " weight " + name + ": " + std::to_string(*count) +
                                   " strings cannot fit in the shards' " + std::to_string(have) + " bytes");
                return need + 4 * *count;
            }
            for (std::uint64_t i = 0; i < *count; ++i) {
                std::uint32_t len = 0;
                if (!data.read_u32(need, len)) {
                    problems.push_back(where + " weight " + name + ": string data runs past the end of the shards");
                    return need + 4;
                }
                need += 4 + len;
            }
        } else if (std::uint64_t size = dtype_bytes(dtype); size != 0) {
            if (*count > (std::numeric_limits<std::uint64_t>::max() - need) / size) {
                problems.push_back(where + " weight " + name + ": byte count overflows");
                continue;
            }
            need += *count * size;
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

namespace {

std::uint64_t size_or_zero(const fsys::path& p) {
    std::error_code ec;
    auto size = fsys::file_size(p, ec);
    return ec ? 0 : size;
}

// One group's shards against the bytes its weights need; the problems name the group ("group 1 shard x.bin").
void check_group(const fsys::path& root, const fsys::path& model_dir, const WeightGroup& g, const std::string& where,
                 ModelEntry& m) {
    GroupBytes data;
    std::vector<std::string> names;
    bool complete = true;
    for (const ShardPath& p : g.paths) {
        const std::string& rel = p.path;  // "" when not a string: leaves the root
        fsys::path shard = inside(root, model_dir, rel);
        std::error_code ec;
        if (shard.empty()) {
            m.problems.push_back(where + " shard \"" + rel + "\": path leaves the served root");
            complete = false;
        } else if (!fsys::is_regular_file(shard, ec)) {
            m.problems.push_back(where + " shard " + rel + ": missing");
            complete = false;
        } else {
            std::uint64_t size = size_or_zero(shard);
            data.shards.emplace_back(shard, size);
            names.push_back(rel);
            m.files.push_back({shard.lexically_relative(root).string(), size});
        }
    }
    std::uint64_t need = needed_bytes(g.weights, data, where, m.problems);
    if (complete) check_shard_sizes(data, names, need, where, m.problems);
}

// check_model's work; may throw on input nobody foresaw (the caller turns that into a problem).
void check_manifest(const fsys::path& root, const fsys::path& file, ModelEntry& m) {
    const Manifest doc = read_manifest(manifest_file_text(file).value_or(""));
    m.format = doc.format;
    for (const auto& p : doc.problems) m.problems.push_back(m.manifest + ": " + p);
    if (!doc.ok()) {
        m.problems.push_back(m.manifest + ": " + doc.error);
        return;
    }
    for (std::size_t gi = 0; gi < doc.groups.size(); ++gi) {
        const WeightGroup& g = doc.groups[gi];
        std::string where = "group " + std::to_string(gi);
        if (!g.has_paths || !g.has_weights) m.problems.push_back(where + ": needs \"paths\" and \"weights\" arrays");
        else check_group(root, file.parent_path(), g, where, m);
    }
}

}  // namespace

ModelEntry check_model(const fsys::path& root, const std::string& manifest) {
    ModelEntry m;
    m.manifest = manifest;
    m.name = manifest.ends_with("/model.json") ? manifest.substr(0, manifest.size() - 11) : manifest;
    m.format = "unknown";
    fsys::path file = root / manifest;
    m.files.push_back({manifest, size_or_zero(file)});
    try {
        check_manifest(root, file, m);
    } catch (const std::exception& e) {
        // Whatever the file holds, it costs its own model only: reported broken, never thrown to a worker thread.
        m.problems.push_back(manifest + ": cannot be checked (" + std::string(e.what()) + ")");
    }
    for (const auto& f : m.files) m.total_bytes += f.bytes;
    return m;
}

namespace {

// A directory entry that is served: not hidden, and (through symlinks) a regular file inside the root.
bool served_file(const fsys::directory_entry& e, const fsys::path& real_root) {
    std::error_code ec;
    if (!e.is_symlink(ec)) return e.is_regular_file(ec);
    auto real = fsys::canonical(e.path(), ec);
    if (ec || !fsys::is_regular_file(real, ec)) return false;
    auto rel = real.lexically_relative(real_root);
    return !rel.empty() && *rel.begin() != "..";
}

// A JSON file that looks like a TF.js model (read only up to the manifest bound).
bool looks_like_model(const fsys::path& p) {
    if (size_or_zero(p) > max_manifest_bytes) return false;
    auto text = manifest_file_text(p);
    return text && read_manifest(*text).is_tfjs;
}

}  // namespace

Catalog scan(const fsys::path& root) {
    Catalog c;
    std::error_code ec;
    const auto real_root = fsys::weakly_canonical(root, ec);
    // Directory symlinks are not followed (no loops); unreadable folders are skipped; entries that vanish
    // mid-scan are skipped: each step uses error codes, never exceptions.
    fsys::recursive_directory_iterator it(root, fsys::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        std::string name = entry.path().filename().string();
        std::error_code e;
        if (name.starts_with('.')) {
            if (entry.is_directory(e)) it.disable_recursion_pending();
            continue;
        }
        if (!served_file(entry, real_root)) continue;
        std::string rel = entry.path().lexically_relative(root).string();
        auto ext = entry.path().extension().string();
        if (ext == ".task" || ext == ".tflite" || ext == ".binarypb") c.assets.push_back(rel);
        // A model.json is listed whatever it holds (a broken one is what check is for: a copy cut short, an array), and
        // so is any other JSON file TF.js would read as a model.
        if (ext == ".json" && (name == "model.json" || looks_like_model(entry.path()))) c.models.push_back(check_model(root, rel));
    }
    auto by_name = [](const ModelEntry& a, const ModelEntry& b) { return a.manifest < b.manifest; };
    std::sort(c.models.begin(), c.models.end(), by_name);
    std::sort(c.assets.begin(), c.assets.end());
    return c;
}

}  // namespace modelhost::models
