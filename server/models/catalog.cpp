// Manifest arithmetic: a group's shards, concatenated, hold exactly Σ product(shape) × dtype size bytes
// (quantized weights use the quantized dtype; string weights are read: uint32 length + bytes per element).
#include "models/catalog.hpp"
#include "models/catalog_paths.hpp"
#include "models/manifest.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

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

}  // namespace

namespace detail {

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

std::uint64_t size_or_zero(const fsys::path& p) {
    std::error_code ec;
    auto size = fsys::file_size(p, ec);
    return ec ? 0 : size;
}

bool is_file(const fsys::path& p) {
    std::error_code ec;
    return fsys::is_regular_file(p, ec);
}

std::string head_text(const fsys::path& p, std::uint64_t max) {
    std::ifstream in(p, std::ios::binary);
    std::string text(static_cast<std::size_t>(std::min<std::uint64_t>(max, size_or_zero(p))), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return text;
}

}  // namespace detail

namespace {

using detail::inside;
using detail::size_or_zero;

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
    m.variant = doc.format;
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
    m.format = format::tfjs;
    m.variant = "unknown";
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

namespace {

// What one walk of the tree finds, before any file is read beyond a JSON file's TF.js test.
struct Found {
    std::vector<std::string> tfjs, onnx, mediapipe, binarypb, wasm;
    std::set<std::string> webllm_dirs, config_dirs, packages;  // folders, relative ("" for the root)
};

std::string parent_of(const std::string& rel) {
    auto slash = rel.rfind('/');
    return slash == std::string::npos ? "" : rel.substr(0, slash);
}

// The runtime package folder holding `rel` ("npm/@scope/name@1.0.0", "npm/name@1.0.0"); "" when none does.
std::string package_of(const std::string& rel) {
    if (!rel.starts_with("npm/")) return {};
    std::size_t end = rel.find('/', 4);
    if (end != std::string::npos && rel[4] == '@') end = rel.find('/', end + 1);
    if (end == std::string::npos) return {};
    std::string folder = rel.substr(0, end);
    auto at = folder.rfind('@');
    return at != std::string::npos && at > 5 && folder[at - 1] != '/' ? folder : "";
}

void sort_file(const fsys::directory_entry& entry, const std::string& rel, Found& f) {
    const std::string name = entry.path().filename().string();
    const std::string ext = entry.path().extension().string();
    if (name == "mlc-chat-config.json" || name == "tensor-cache.json" || name == "ndarray-cache.json")
        f.webllm_dirs.insert(parent_of(rel));
    else if (name == "config.json") f.config_dirs.insert(parent_of(rel));
    else if (ext == ".onnx") f.onnx.push_back(rel);
    else if (ext == ".task" || ext == ".tflite") f.mediapipe.push_back(rel);
    else if (ext == ".binarypb") f.binarypb.push_back(rel);
    else if (ext == ".wasm") f.wasm.push_back(rel);
    // A model.json is listed whatever it holds (a broken one is what check is for: a copy cut short, an array), and
    // so is any other JSON file TF.js would read as a model.
    else if (ext == ".json" && (name == "model.json" || looks_like_model(entry.path()))) f.tfjs.push_back(rel);
    if (auto p = package_of(rel); !p.empty()) f.packages.insert(p);
}

Found walk(const fsys::path& root) {
    Found f;
    std::error_code ec;
    const auto real_root = fsys::weakly_canonical(root, ec);
    // Directory symlinks are not followed (no loops); unreadable folders are skipped; entries that vanish
    // mid-scan are skipped: each step uses error codes, never exceptions.
    fsys::recursive_directory_iterator it(root, fsys::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        std::error_code e;
        if (entry.path().filename().string().starts_with('.')) {
            if (entry.is_directory(e)) it.disable_recursion_pending();
            continue;
        }
        if (served_file(entry, real_root)) sort_file(entry, entry.path().lexically_relative(root).generic_string(), f);
    }
    return f;
}

// The repo folder of a file in an onnx/ folder ("org/m/onnx/model.onnx" -> "org/m"); nothing for other files.
std::optional<std::string> repo_of(const std::string& onnx) {
    const std::string dir = parent_of(onnx);
    if (dir == "onnx") return "";
    if (dir.ends_with("/onnx")) return dir.substr(0, dir.size() - 5);
    return std::nullopt;
}

// A transformers.js folder: config.json beside an onnx/ folder holding a .onnx (its files are that model's).
std::set<std::string> transformers_dirs(const Found& f) {
    std::set<std::string> out;
    for (const auto& onnx : f.onnx)
        if (auto repo = repo_of(onnx); repo && f.config_dirs.count(*repo) && !f.webllm_dirs.count(*repo)) out.insert(*repo);
    return out;
}

std::vector<RuntimePackage> runtimes(const Found& f) {
    std::vector<RuntimePackage> out;
    for (const auto& p : f.packages) {
        const auto at = p.rfind('@');
        RuntimePackage r{p.substr(4, at - 4), p.substr(at + 1), p, {}};
        for (const auto& w : f.wasm)
            if (w.starts_with(p + "/")) r.wasm.push_back(w);
        out.push_back(std::move(r));
    }
    return out;
}

void bound_problems(ModelEntry& m) {
    if (m.problems.size() <= max_problems) return;
    const std::size_t more = m.problems.size() - max_problems;
    m.problems.resize(max_problems);
    m.problems.push_back("and " + std::to_string(more) + " more problem(s)");
}

}  // namespace

std::pair<std::size_t, std::size_t> Catalog::count(std::string_view f) const {
    std::pair<std::size_t, std::size_t> n{0, 0};
    for (const auto& m : models)
        if (m.format == f) ++(m.ok() ? n.first : n.second);
    return n;
}

Catalog scan(const fsys::path& root) {
    const Found f = walk(root);
    Catalog c;
    const auto repos = transformers_dirs(f);
    for (const auto& rel : f.tfjs) c.models.push_back(check_model(root, rel));
    for (const auto& dir : repos) c.models.push_back(check_transformers(root, dir));
    for (const auto& dir : f.webllm_dirs) c.models.push_back(check_webllm(root, dir));
    for (const auto& rel : f.onnx)
        if (auto repo = repo_of(rel); !repo || !repos.count(*repo)) c.models.push_back(check_onnx(root, rel));
    for (const auto& rel : f.mediapipe) c.models.push_back(check_mediapipe(root, rel));
    for (auto& m : c.models) bound_problems(m);
    auto by_name = [](const ModelEntry& a, const ModelEntry& b) { return a.manifest < b.manifest; };
    std::sort(c.models.begin(), c.models.end(), by_name);
    c.runtimes = runtimes(f);
    c.assets = f.binarypb;
    std::sort(c.assets.begin(), c.assets.end());
    return c;
}

}  // namespace modelhost::models
