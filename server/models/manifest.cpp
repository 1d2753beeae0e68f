// Every JSON value is checked for its type before it is read: nlohmann's accessors throw on a wrong type, and the
// reader must not. Counts are bounded before anything is stored for them.
#include "models/manifest.hpp"
#include "models/json_text.hpp"

#include <boost/url/pct_string_view.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>

namespace modelhost::models {

using json = nlohmann::json;

namespace {

std::string string_or(const json& obj, const char* key, std::string fallback) {
    if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return fallback;
    return obj[key].get<std::string>();
}

// The sizes of a shape and their product; the product is left unset when a size is not a non-negative integer
// (the sizes too, then) or the product overflows.
void read_shape(const json& shape, Weight& w) {
    std::uint64_t count = 1;
    bool overflow = false;
    for (const auto& d : shape) {
        if (!d.is_number_integer() || (!d.is_number_unsigned() && d.get<std::int64_t>() < 0)) {
            w.shape.clear();
            return;
        }
        auto dim = d.get<std::uint64_t>();
        w.shape.push_back(dim);
        if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / dim) overflow = true;
        else count *= dim;
    }
    if (!overflow) w.elements = count;
}

Weight read_weight(const json& j) {
    Weight w;
    w.name = string_or(j, "name", "?");
    w.dtype = string_or(j, "dtype", "");
    if (!j.is_object()) return w;
    if (j.contains("quantization") && j["quantization"].is_object()) w.dtype = string_or(j["quantization"], "dtype", w.dtype);
    w.has_shape = j.contains("shape") && j["shape"].is_array();
    if (w.has_shape) read_shape(j["shape"], w);
    return w;
}

// Σ bytes of the weights, or nothing as soon as one cannot be counted or the sum overflows.
std::optional<std::uint64_t> sum_bytes(const std::vector<Weight>& weights) {
    std::uint64_t total = 0;
    for (const auto& w : weights) {
        auto bytes = w.bytes();
        if (!bytes || *bytes > std::numeric_limits<std::uint64_t>::max() - total) return std::nullopt;
        total += *bytes;
    }
    return total;
}

// What the reader counts over the whole manifest, against the bounds, and the paths seen so far (for repeats).
struct Budget {
    std::size_t paths = 0, weights = 0;
    std::set<std::string, std::less<>> seen;
};

ShardPath read_path(const json& p, std::string entry, std::set<std::string, std::less<>>& seen) {
    ShardPath out;
    out.entry = std::move(entry);
    out.shown = p.dump(-1, ' ', false, json::error_handler_t::replace);
    if (out.shown.size() > 60) out.shown = out.shown.substr(0, 57) + "...";
    out.is_string = p.is_string();
    if (!out.is_string) return out;
    out.path = p.get<std::string>();
    out.unsafe = unsafe_shard_path(out.path);
    out.repeated = out.unsafe.empty() && !seen.insert(out.path).second;
    return out;
}

// One group; "" or the bound it breaks (then the manifest is refused whole).
std::string read_group(const json& g, std::string entry, Budget& budget, WeightGroup& out) {
    out.entry = std::move(entry);
    out.has_paths = g.is_object() && g.contains("paths") && g["paths"].is_array();
    out.has_weights = g.is_object() && g.contains("weights") && g["weights"].is_array();
    if (out.has_paths) {
        const json& paths = g["paths"];
        if (paths.size() > max_paths - budget.paths)
            return out.entry + ".paths: more than the " + std::to_string(max_paths) + " shard paths a manifest may list";
        budget.paths += paths.size();
        for (std::size_t i = 0; i < paths.size(); ++i)
            out.paths.push_back(read_path(paths[i], out.entry + ".paths[" + std::to_string(i) + "]", budget.seen));
    }
    if (out.has_weights) {
        const json& weights = g["weights"];
        if (weights.size() > max_weights - budget.weights)
            return out.entry + ".weights: more than the " + std::to_string(max_weights) + " weights a manifest may list";
        budget.weights += weights.size();
        for (const auto& w : weights) out.weights.push_back(read_weight(w));
        out.declared_bytes = sum_bytes(out.weights);
    }
    return {};
}

// The groups of weightsManifest; "" or why the manifest is refused.
std::string read_groups(const json& groups, Manifest& m) {
    if (groups.size() > max_groups)
        return "weightsManifest: " + std::to_string(groups.size()) + " groups, more than the " + std::to_string(max_groups) +
               " a manifest may have";
    Budget budget;
    m.groups.resize(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i)
        if (auto bound = read_group(groups[i], "weightsManifest[" + std::to_string(i) + "]", budget, m.groups[i]); !bound.empty())
            return bound;
    return {};
}

// The document's facts beside the groups: what kind of model, its format.
void read_header(const json& doc, Manifest& m) {
    m.is_tfjs = doc.contains("weightsManifest") || doc.contains("modelTopology");
    m.has_topology = doc.contains("modelTopology") && doc["modelTopology"].is_object();
    m.graph = m.has_topology && doc["modelTopology"].contains("node");
    m.format = string_or(doc, "format", m.graph ? "graph-model" : "unknown");
    if (doc.contains("format") && !doc["format"].is_string()) m.problems.push_back("\"format\" is not a string");
}

}  // namespace

std::uint64_t dtype_bytes(std::string_view dtype) {
    if (dtype == "float32" || dtype == "int32" || dtype == "uint32") return 4;
    if (dtype == "float16" || dtype == "uint16" || dtype == "int16") return 2;
    if (dtype == "uint8" || dtype == "int8" || dtype == "bool") return 1;
    if (dtype == "complex64" || dtype == "float64" || dtype == "int64") return 8;
    return 0;
}

std::optional<std::uint64_t> Weight::bytes() const {
    const std::uint64_t size = dtype_bytes(dtype);
    if (!elements || size == 0 || *elements > std::numeric_limits<std::uint64_t>::max() / size) return std::nullopt;
    return *elements * size;
}

Manifest read_manifest(std::string_view text) {
    Manifest m;
    if (text.size() > max_manifest_bytes) {
        m.error = "larger than the " + std::to_string(max_manifest_bytes) + " bytes a manifest may hold";
        return m;
    }
    json doc;
    m.error = read_json_object(text, doc);
    if (!m.ok()) return m;
    read_header(doc, m);
    if (!doc.contains("weightsManifest") || !doc["weightsManifest"].is_array()) {
        m.error = "no weightsManifest array";
        return m;
    }
    m.error = read_groups(doc["weightsManifest"], m);
    if (!m.ok()) m.groups.clear();
    return m;
}

std::optional<std::string> manifest_file_text(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string text;
    char buf[1 << 16];
    while (text.size() <= max_manifest_bytes && in.read(buf, sizeof buf).gcount() > 0)
        text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_manifest_bytes) text.resize(max_manifest_bytes + 1);
    return text;
}

std::string unsafe_shard_path(std::string_view raw) {
    if (raw.empty()) return "empty";
    if (raw.find_first_of("?#") != std::string_view::npos) return "has a query or fragment";
    auto encoded = boost::urls::make_pct_string_view(raw);  // the decoding the server applies to targets
    if (!encoded) return "has a malformed percent-escape";
    const std::string path = encoded->decode();
    // Checked after decoding too: the server decodes once, so "%2e%2e" would be ".." when served.
    for (const std::string_view form : {raw, std::string_view(path)}) {
        if (form.starts_with('/')) return "is absolute";
        if (std::any_of(form.begin(), form.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            return "has a control character or NUL";
        if (form.find('\\') != std::string_view::npos) return "has a backslash";
        if (form.find(':') != std::string_view::npos) return "has a colon (a URL scheme or drive letter)";
        for (std::size_t pos = 0; pos <= form.size();) {
            auto slash = std::min(form.find('/', pos), form.size());
            auto seg = form.substr(pos, slash - pos);
            if (seg.empty() || seg == "." || seg == "..") return "has an empty, \".\" or \"..\" segment";
            if (seg.front() == '.') return "has a hidden segment";
            pos = slash + 1;
        }
    }
    return {};
}

}  // namespace modelhost::models
