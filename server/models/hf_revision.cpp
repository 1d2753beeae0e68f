// Every sibling is checked before any is used: one bad entry refuses the whole answer (a fetch then writes nothing).
#include "models/hf_revision.hpp"

#include "models/manifest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace modelhost::models {

namespace {

using json = nlohmann::json;

bool hex_of_length(const std::string& s, std::size_t n) {
    return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Why a name is refused ("" when it may be used); `hidden` when a segment starts with '.' (skipped, not refused).
std::string refusal(const std::string& name, bool& hidden) {
    hidden = false;
    for (std::size_t at = 0; at <= name.size();) {
        std::size_t end = std::min(name.find('/', at), name.size());
        std::string_view seg = std::string_view(name).substr(at, end - at);
        if (seg == "." || seg == ".." || seg.empty()) return "an empty, \".\" or \"..\" segment";
        if (seg.front() == '.') hidden = true;
        at = end + 1;
    }
    if (hidden) return {};
    return unsafe_shard_path(name);
}

// One sibling into `out`; the error when it is refused.
std::string read_sibling(const json& s, std::size_t i, HfRevision& out, std::set<std::string>& seen) {
    const std::string at = "siblings[" + std::to_string(i) + "]";
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) return at + ": has no rfilename string";
    HfSibling f;
    f.path = s["rfilename"].get<std::string>();
    bool hidden = false;
    if (auto why = refusal(f.path, hidden); !why.empty()) return at + ": refusing \"" + f.path + "\": " + why;
    if (hidden) {
        out.skipped.push_back(f.path + " (hidden)");
        return {};
    }
    if (!s.contains("size") || !s["size"].is_number_unsigned())
        return at + " (" + f.path + "): no size; is it a Hugging Face hub answering blobs=true?";
    f.size = s["size"].get<std::uint64_t>();
    if (s.contains("lfs") && !s["lfs"].is_null()) {
        const json& lfs = s["lfs"];
        if (!lfs.is_object() || !lfs.contains("sha256") || !lfs["sha256"].is_string() ||
            !hex_of_length(lfs["sha256"].get<std::string>(), 64) || lfs.value("size", json()) != s["size"])
            return at + " (" + f.path + "): its lfs entry needs a 64-hex sha256 and the file's size";
        f.sha256 = lfs["sha256"].get<std::string>();
    }
    if (s.contains("blobId") && s["blobId"].is_string() && hex_of_length(s["blobId"].get<std::string>(), 40))
        f.blob_id = s["blobId"].get<std::string>();
    if (!seen.insert(f.path).second) return at + ": \"" + f.path + "\" is listed twice";
    out.files.push_back(std::move(f));
    return {};
}

// At most how many values a JSON text holds: every value but a container's first follows a ',', and every
// container opens with '{' or '['; both counted outside strings.
std::size_t values_at_most(std::string_view text) {
    std::size_t n = 1;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ',' || c == '{' || c == '[') {
            ++n;
        }
    }
    return n;
}

}  // namespace

const HfSibling* HfRevision::find(std::string_view path) const {
    auto it = std::find_if(files.begin(), files.end(), [&](const HfSibling& f) { return f.path == path; });
    return it == files.end() ? nullptr : &*it;
}

HfRevision read_hf_revision(std::string_view text) {
    HfRevision rev;
    auto refuse = [&](std::string why) {
        rev.error = std::move(why);
        rev.files.clear();
        return rev;
    };
    if (text.size() > max_hf_revision_bytes) return refuse("larger than " + std::to_string(max_hf_revision_bytes) + " bytes");
    // Bounded before parsing, so 16 MiB of "[{},{},...]" never becomes a huge document.
    if (values_at_most(text) > max_hf_json_values)
        return refuse("may hold more than " + std::to_string(max_hf_json_values) + " JSON values");
    const json doc = json::parse(text, nullptr, false);
    if (!doc.is_object()) return refuse("not a JSON object");
    if (!doc.contains("sha") || !doc["sha"].is_string() || !hex_of_length(doc["sha"].get<std::string>(), 40))
        return refuse("has no 40-hex \"sha\" (the commit)");
    rev.commit = doc["sha"].get<std::string>();
    if (!doc.contains("siblings") || !doc["siblings"].is_array()) return refuse("has no \"siblings\" array");
    const json& siblings = doc["siblings"];
    rev.listed = siblings.size();
    if (siblings.size() > max_hf_siblings)
        return refuse("lists " + std::to_string(siblings.size()) + " files, more than " + std::to_string(max_hf_siblings));
    std::set<std::string> seen;
    for (std::size_t i = 0; i < siblings.size(); ++i)
        if (auto why = read_sibling(siblings[i], i, rev, seen); !why.empty()) return refuse(why);
    return rev;
}

}  // namespace modelhost::models
