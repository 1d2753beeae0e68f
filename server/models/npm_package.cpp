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

// The document read by SAX events (nlohmann::json::sax_parse): only the values used are kept (name, dist-tags, each
// version's dist.tarball, .integrity, .fileCount and .unpackedSize), each checked as it arrives, and the limits hold
// while it is read, so a document costs time linear in its size and memory for those values only.
class DocumentReader : public json::json_sax_t {
public:
    explicit DocumentReader(NpmDocument& doc) : doc_(doc) {}

    bool null() override { return scalar("null", nullptr, nullptr); }
    bool boolean(bool) override { return scalar("a boolean", nullptr, nullptr); }
    bool number_integer(json::number_integer_t v) override {
        if (v < 0) return scalar("a negative number", nullptr, nullptr);
        const auto u = static_cast<std::uint64_t>(v);
        return scalar("a number", nullptr, &u);
    }
    bool number_unsigned(json::number_unsigned_t v) override {
        const std::uint64_t u = v;
        return scalar("a number", nullptr, &u);
    }
    bool number_float(json::number_float_t, const json::string_t&) override { return scalar("a number", nullptr, nullptr); }
    bool string(json::string_t& v) override { return scalar("a string", &v, nullptr); }
    bool binary(json::binary_t&) override { return scalar("binary", nullptr, nullptr); }
    bool key(json::string_t& k) override {
        key_ = std::move(k);
        return true;
    }
    bool start_object(std::size_t) override { return open(true); }
    bool start_array(std::size_t) override { return open(false); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
        return fail(std::string("not JSON: ") + e.what());
    }

    bool versions_seen = false;

private:
    // The path of the value now read, from the document's top: the open containers' keys and this value's own.
    std::vector<std::string> path() const {
        std::vector<std::string> p = keys_;
        p.push_back(objects_.back() ? key_ : "[]");
        return p;
    }
    bool fail(std::string why) {
        if (doc_.error.empty()) doc_.error = std::move(why);
        return false;
    }
    static std::string where(const std::vector<std::string>& p) {
        std::string out = "\"" + p[0] + "\"";
        for (std::size_t i = 1; i < p.size(); ++i) out += i == 1 && p[0] == "versions" ? "[\"" + p[i] + "\"]" : "." + p[i];
        return out;
    }
    static bool is(const std::vector<std::string>& p, std::size_t size, const char* top) { return p.size() == size && p[0] == top; }
    static bool dist_key(const std::vector<std::string>& p) {
        return is(p, 4, "versions") && p[2] == "dist" &&
               (p[3] == "tarball" || p[3] == "integrity" || p[3] == "fileCount" || p[3] == "unpackedSize");
    }
    static const char* dist_type(const std::string& k) { return k == "tarball" || k == "integrity" ? "string" : "whole number"; }

    bool open(bool object) {
        if (objects_.empty()) {
            if (!object) return fail("the document is not a JSON object");
            objects_.push_back(true);
            return true;
        }
        const auto p = path();
        if (is(p, 1, "name")) return fail("\"name\": is not a string");
        if ((is(p, 1, "versions") || is(p, 1, "dist-tags")) && !object) return fail(where(p) + ": is not an object");
        if (is(p, 2, "dist-tags")) return fail(where(p) + ": is not a string");
        if (is(p, 2, "versions")) {
            if (!object) return fail(where(p) + ": has no \"dist\" object");
            if (!parse_semver(p[1])) return fail(where(p) + ": is not a version (MAJOR.MINOR.PATCH)");
            if (++versions_ > max_npm_versions) return fail("\"versions\": more than " + std::to_string(max_npm_versions));
            version_ = Version{};
        }
        if (is(p, 3, "versions") && p[2] == "dist") {
            if (!object) return fail(where(p) + ": is not an object");
            version_.dist = true;
        }
        if (dist_key(p)) return fail(where(p) + ": is not a " + dist_type(p[3]));
        if (is(p, 1, "versions")) versions_seen = true;
        keys_.push_back(p.back());
        objects_.push_back(object);
        return true;
    }

    bool close() {
        if (keys_.size() == 2 && keys_[0] == "versions" && objects_.back() && !finish_version(keys_[1])) return false;
        objects_.pop_back();
        if (!keys_.empty()) keys_.pop_back();
        return true;
    }

    bool scalar(const char* what, json::string_t* text, const std::uint64_t* number) {
        if (objects_.empty()) return fail("the document is not a JSON object");
        const auto p = path();
        if (is(p, 1, "name")) {
            if (!text) return fail("\"name\": is not a string");
            doc_.name = std::move(*text);
        } else if (is(p, 1, "versions") || is(p, 1, "dist-tags") || (is(p, 3, "versions") && p[2] == "dist")) {
            return fail(where(p) + ": is not an object");
        } else if (is(p, 2, "dist-tags")) {
            if (!text) return fail(where(p) + ": is not a string");
            doc_.tags.insert_or_assign(p[1], std::move(*text));
        } else if (is(p, 2, "versions")) {
            return fail(where(p) + ": has no \"dist\" object (" + what + ")");
        } else if (dist_key(p)) {
            const bool wants_text = p[3] == "tarball" || p[3] == "integrity";
            if (wants_text ? !text : !number) return fail(where(p) + ": is not a " + dist_type(p[3]));
            if (p[3] == "tarball") version_.v.tarball = std::move(*text);
            if (p[3] == "integrity") version_.integrity = std::move(*text);
            if (p[3] == "fileCount") version_.v.file_count = *number;
            if (p[3] == "unpackedSize") version_.v.unpacked_size = *number;
        }
        return true;
    }

    bool finish_version(const std::string& version) {
        const std::string at = "versions[\"" + version + "\"]";
        if (!version_.dist) return fail(at + ": has no \"dist\" object");
        if (version_.v.tarball.empty()) return fail(at + ".dist.tarball: is missing");
        if (sha512_of_integrity(version_.integrity)) {
            version_.v.integrity = std::move(version_.integrity);
            doc_.versions.insert_or_assign(version, std::move(version_.v));
        } else {
            doc_.unverifiable.push_back(version);
        }
        return true;
    }

    struct Version {
        NpmVersion v;
        std::string integrity;
        bool dist = false;
    };
    NpmDocument& doc_;
    std::vector<std::string> keys_;  // the keys of the open containers below the top object
    std::vector<bool> objects_;      // per open container, the top object first: an object (else an array)
    std::string key_;
    Version version_;
    std::size_t versions_ = 0;
};

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
    DocumentReader reader(doc);
    if (!json::sax_parse(text.begin(), text.end(), &reader) && doc.ok()) doc.error = "not JSON";
    if (doc.ok() && (doc.name.empty() || (!name.empty() && doc.name != name))) doc.error = "\"name\": is not \"" + std::string(name) + "\"";
    if (doc.ok() && !reader.versions_seen) doc.error = "\"versions\": is missing";
    if (!doc.ok()) doc.versions.clear();
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
