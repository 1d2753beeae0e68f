#include "models/npm_package.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace modelhost::models {

using json = nlohmann::json;

namespace {

bool name_part(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.front() == '_') return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
    });
}

// A numeric identifier: digits without a leading zero (0 itself allowed).
std::optional<std::uint64_t> numeric(std::string_view s) {
    if (s.empty() || s.size() > 15 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

bool identifiers(std::string_view s, std::vector<std::string>* out) {
    for (std::size_t at = 0; at <= s.size();) {
        const std::size_t end = std::min(s.find('.', at), s.size());
        const std::string_view id = s.substr(at, end - at);
        if (id.empty() || !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; })) return false;
        if (out && std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isdigit(c); }) && !numeric(id)) return false;
        if (out) out->emplace_back(id);
        at = end + 1;
    }
    return true;
}

// A range as its lowest version and the version above it (none: no bound), or exactly one release.
struct Range {
    SemVer low;
    std::optional<SemVer> below;
    bool exact = false;
};

// "^1.2", "~1.2.3", "1.x", "1", "*", "": the bounds a URL's range names; nullopt when it is none of these.
std::optional<Range> parse_range(std::string_view spec) {
    char op = 0;
    if (!spec.empty() && (spec.front() == '^' || spec.front() == '~')) op = spec.front(), spec.remove_prefix(1);
    std::uint64_t parts[3] = {0, 0, 0};
    int given = 0;  // numbers before the first wildcard or the end
    bool wild = false;
    for (std::size_t at = 0, n = 0; !spec.empty() && at <= spec.size(); ++n) {
        const std::size_t end = std::min(spec.find('.', at), spec.size());
        const std::string_view part = spec.substr(at, end - at);
        if (n == 3) return std::nullopt;
        if (part == "x" || part == "X" || part == "*") wild = true;
        else if (auto v = numeric(part); v && !wild) parts[given++] = *v;
        else return std::nullopt;
        at = end + 1;
    }
    Range r;
    r.low = SemVer{parts[0], parts[1], parts[2], {}};
    if (given == 0) return r;  // any release
    SemVer up = r.low;
    auto bump = [&](int i) {
        up = SemVer{i == 0 ? parts[0] + 1 : parts[0], i == 1 ? parts[1] + 1 : i > 1 ? parts[1] : 0, i == 2 ? parts[2] + 1 : 0, {}};
    };
    if (op == '^') {
        int i = 0;
        while (i < given - 1 && parts[i] == 0) ++i;  // the leftmost non-zero part given, else the last given
        bump(i);
    } else if (op == '~') {
        bump(given == 1 ? 0 : 1);
    } else if (given == 3) {
        r.exact = true;
        return r;
    } else {
        bump(given - 1);
    }
    r.below = up;
    return r;
}

bool in_range(const SemVer& v, const Range& r) {
    if (!v.prerelease.empty()) return false;
    if (r.exact) return compare(v, r.low) == 0;
    return compare(v, r.low) >= 0 && (!r.below || compare(v, *r.below) < 0);
}

std::optional<std::string> highest(const std::vector<std::string>& versions, bool releases_only, const Range* range) {
    std::optional<std::pair<SemVer, std::string>> best;
    for (const auto& text : versions) {
        auto v = parse_semver(text);
        if (!v || (releases_only && !v->prerelease.empty()) || (range && !in_range(*v, *range))) continue;
        if (!best || compare(*v, best->first) > 0) best.emplace(std::move(*v), text);
    }
    if (!best) return std::nullopt;
    return best->second;
}

std::optional<std::string> base64_decode(std::string_view s) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    if (s.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < s.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s[i + static_cast<std::size_t>(k)];
            if (c == '=' && i + 4 == s.size() && k >= 2) ++pad, v[k] = 0;
            else if (pad > 0 || (v[k] = value(c)) < 0) return std::nullopt;
        }
        const unsigned bits = static_cast<unsigned>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        out.push_back(static_cast<char>(bits >> 16));
        if (pad < 2) out.push_back(static_cast<char>(bits >> 8 & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(bits & 0xff));
    }
    return out;
}

// The keys read_npm_document keeps, by their path from the document's top: a document of every version's full
// metadata (READMEs, dependency lists) costs only the dist blocks.
bool kept_key(const std::vector<std::string>& path) {
    switch (path.size()) {
        case 1: return path[0] == "name" || path[0] == "dist-tags" || path[0] == "versions";
        case 2: return path[0] == "dist-tags" || path[0] == "versions";
        case 3: return path[0] == "versions" && path[2] == "dist";
        case 4:
            return path[0] == "versions" && (path[3] == "tarball" || path[3] == "integrity" || path[3] == "fileCount" ||
                                             path[3] == "unpackedSize");
        default: return false;
    }
}

std::optional<std::uint64_t> count_of(const json& dist, const char* key, std::string& error, const std::string& where) {
    auto it = dist.find(key);
    if (it == dist.end()) return std::nullopt;
    if (!it->is_number_unsigned()) error = where + ".dist." + key + ": is not a whole number";
    return it->is_number_unsigned() ? std::optional(it->get<std::uint64_t>()) : std::nullopt;
}

void read_versions(const json& versions, NpmDocument& doc) {
    if (!versions.is_object()) return void(doc.error = "\"versions\": is not an object");
    if (versions.size() > max_npm_versions) return void(doc.error = "\"versions\": more than " + std::to_string(max_npm_versions));
    for (const auto& [version, meta] : versions.items()) {
        const std::string where = "versions[\"" + version + "\"]";
        if (!parse_semver(version)) return void(doc.error = where + ": is not a version (MAJOR.MINOR.PATCH)");
        const auto dist = meta.is_object() ? meta.find("dist") : meta.end();
        if (dist == meta.end() || !dist->is_object()) return void(doc.error = where + ": has no \"dist\" object");
        const auto tarball = dist->find("tarball");
        if (tarball == dist->end() || !tarball->is_string()) return void(doc.error = where + ".dist.tarball: is not a string");
        const auto integrity = dist->find("integrity");
        if (integrity != dist->end() && !integrity->is_string()) return void(doc.error = where + ".dist.integrity: is not a string");
        NpmVersion v{tarball->get<std::string>(), {}, {}, {}};
        if (integrity != dist->end() && sha512_of_integrity(integrity->get<std::string>())) v.integrity = integrity->get<std::string>();
        v.file_count = count_of(*dist, "fileCount", doc.error, where);
        v.unpacked_size = count_of(*dist, "unpackedSize", doc.error, where);
        if (!doc.ok()) return;
        if (v.integrity.empty()) doc.unverifiable.push_back(version);
        else doc.versions.emplace(version, std::move(v));
    }
}

}  // namespace

bool valid_npm_name(std::string_view name) {
    if (name.empty() || name.size() > 214) return false;
    if (name.front() != '@') return name_part(name);
    const std::size_t slash = name.find('/');
    return slash != std::string_view::npos && name_part(name.substr(1, slash - 1)) && name_part(name.substr(slash + 1));
}

std::optional<NpmRef> split_npm_ref(std::string_view ref) {
    NpmRef out;
    std::size_t name_end = ref.find('/');
    if (!ref.empty() && ref.front() == '@' && name_end != std::string_view::npos) name_end = ref.find('/', name_end + 1);
    std::string_view head = ref.substr(0, name_end);
    if (name_end != std::string_view::npos) out.has_path = true, out.path = ref.substr(name_end + 1);
    const std::size_t at = head.find('@', 1);
    if (at != std::string_view::npos) {
        out.has_spec = true;
        out.spec = head.substr(at + 1);
        head = head.substr(0, at);
        if (out.spec.empty()) return std::nullopt;
    }
    out.name = head;
    if (!valid_npm_name(out.name)) return std::nullopt;
    return out;
}

std::optional<NpmRef> npm_version_file(std::string_view ref) {
    auto parts = split_npm_ref(ref);
    if (!parts || !parts->has_spec || parts->path.empty() || !parse_semver(parts->spec)) return std::nullopt;
    return parts;
}

std::optional<SemVer> parse_semver(std::string_view s) {
    if (auto plus = s.find('+'); plus != std::string_view::npos) {
        if (!identifiers(s.substr(plus + 1), nullptr)) return std::nullopt;
        s = s.substr(0, plus);
    }
    SemVer v;
    if (auto dash = s.find('-'); dash != std::string_view::npos) {
        if (!identifiers(s.substr(dash + 1), &v.prerelease)) return std::nullopt;
        s = s.substr(0, dash);
    }
    std::uint64_t* parts[3] = {&v.major, &v.minor, &v.patch};
    for (std::size_t at = 0, n = 0; n < 3; ++n) {
        const std::size_t end = n == 2 ? s.size() : s.find('.', at);
        if (end == std::string_view::npos) return std::nullopt;
        auto num = numeric(s.substr(at, end - at));
        if (!num) return std::nullopt;
        *parts[n] = *num;
        at = end + 1;
    }
    return v;
}

int compare(const SemVer& a, const SemVer& b) {
    if (a.major != b.major) return a.major < b.major ? -1 : 1;
    if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
    if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
    if (a.prerelease.empty() || b.prerelease.empty()) return a.prerelease.empty() - b.prerelease.empty();
    for (std::size_t i = 0; i < std::min(a.prerelease.size(), b.prerelease.size()); ++i) {
        const auto na = numeric(a.prerelease[i]), nb = numeric(b.prerelease[i]);
        if (na && nb && *na != *nb) return *na < *nb ? -1 : 1;
        if (na.has_value() != nb.has_value()) return na ? -1 : 1;  // numeric identifiers sort first
        if (!na && a.prerelease[i] != b.prerelease[i]) return a.prerelease[i] < b.prerelease[i] ? -1 : 1;
    }
    return a.prerelease.size() == b.prerelease.size() ? 0 : a.prerelease.size() < b.prerelease.size() ? -1 : 1;
}

std::optional<std::string> resolve_npm_version(std::string_view spec, const std::vector<std::string>& versions,
                                               const std::map<std::string, std::string, std::less<>>& tags) {
    auto held = [&](std::string_view v) { return std::find(versions.begin(), versions.end(), v) != versions.end(); };
    if (parse_semver(spec)) return held(spec) ? std::optional<std::string>(spec) : std::nullopt;
    if (auto tag = tags.find(spec); tag != tags.end()) return held(tag->second) ? std::optional(tag->second) : std::nullopt;
    if (spec == "latest" && tags.empty()) {
        if (auto release = highest(versions, true, nullptr)) return release;
        return highest(versions, false, nullptr);
    }
    auto range = parse_range(spec == "*" ? "" : spec);
    if (!range) return std::nullopt;
    return highest(versions, true, &*range);
}

std::vector<std::string> NpmDocument::version_names() const {
    std::vector<std::string> out;
    for (const auto& [v, meta] : versions) out.push_back(v);
    return out;
}

NpmDocument read_npm_document(std::string_view text, std::string_view name) {
    NpmDocument doc;
    if (text.size() > max_npm_document_bytes)
        return doc.error = "the document is over " + std::to_string(max_npm_document_bytes) + " bytes", doc;
    std::vector<std::string> path;
    const json::parser_callback_t keep = [&](int depth, json::parse_event_t event, json& parsed) {
        if (event != json::parse_event_t::key) return true;
        path.resize(static_cast<std::size_t>(std::max(depth - 1, 0)));
        path.push_back(parsed.is_string() ? parsed.get<std::string>() : std::string());
        return kept_key(path);
    };
    json top;
    try {
        top = json::parse(text.begin(), text.end(), keep);
    } catch (const json::exception& e) {
        return doc.error = std::string("not JSON: ") + e.what(), doc;
    }
    if (!top.is_object()) return doc.error = "the document is not a JSON object", doc;
    const auto n = top.find("name");
    if (n == top.end() || !n->is_string() || (!name.empty() && *n != name))
        return doc.error = "\"name\": is not \"" + std::string(name) + "\"", doc;
    doc.name = *n;
    if (auto tags = top.find("dist-tags"); tags != top.end()) {
        if (!tags->is_object()) return doc.error = "\"dist-tags\": is not an object", doc;
        for (const auto& [tag, version] : tags->items()) {
            if (!version.is_string()) return doc.error = "\"dist-tags\"." + tag + ": is not a string", doc;
            doc.tags.emplace(tag, version.get<std::string>());
        }
    }
    const auto versions = top.find("versions");
    if (versions == top.end()) return doc.error = "\"versions\": is missing", doc;
    read_versions(*versions, doc);
    return doc;
}

std::optional<std::string> sha512_of_integrity(std::string_view integrity) {
    for (std::size_t at = 0; at < integrity.size();) {
        const std::size_t end = std::min(integrity.find(' ', at), integrity.size());
        std::string_view token = integrity.substr(at, end - at);
        at = end + 1;
        if (!token.starts_with("sha512-")) continue;
        token.remove_prefix(7);
        token = token.substr(0, token.find('?'));  // SRI options
        auto bytes = base64_decode(token);
        if (bytes && bytes->size() == 64) return bytes;
        return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace modelhost::models
