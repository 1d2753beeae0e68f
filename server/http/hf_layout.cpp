// The resolve half of the Hugging Face layout: which folder and file a path names, and the hub's headers on the
// answer (https://huggingface.co/docs/hub/en/api, what huggingface_hub and @huggingface/hub read).
#include "http/hf_layout.hpp"

#include "http/cache_control.hpp"
#include "http/mime.hpp"
#include "http/reply.hpp"
#include "http/static_file.hpp"
#include "mirror/mirror.hpp"

#include <nlohmann/json.hpp>

namespace modelhost::http {

namespace {

// A local folder's file: the SHA-256 only of an LFS file, and only once it is known (the answer is still the file's
// own, with its own ETag).
void hub_headers(const Resources& r, const HfRequest& hf, std::string_view file, Reply& res) {
    const fs::RepoEntry* entry = hf.repo->find(file);
    std::optional<std::string> sha;
    if (entry && !entry->folder && entry->lfs) sha = r.repos->sha256(*hf.repo, *entry);
    put_hub_headers(res, hf.repo->commit, sha.value_or(std::string()), entry ? entry->size : 0);
}

}  // namespace

void put_hub_headers(Reply& res, std::string_view commit, std::string_view sha256, std::uint64_t size) {
    res.set("X-Repo-Commit", commit);
    if (sha256.empty()) return;
    res.set("X-Linked-Size", std::to_string(size));
    res.set("X-Linked-Etag", "\"" + std::string(sha256) + "\"");
}

bool known_revision(const fs::RepoSnapshot& repo, std::string_view revision) {
    return revision == "main" || revision == "HEAD" || revision == repo.commit;
}

std::optional<HfPath> parse_hf_path(std::string_view path) {
    // Segment boundaries of the first four segments: /s0/s1/s2/s3...
    std::size_t cut[5] = {0, 0, 0, 0, 0};
    std::size_t n = 0, at = 0;
    while (n < 4 && at < path.size()) {
        std::size_t next = path.find('/', at + 1);
        if (next == std::string_view::npos) break;
        cut[++n] = next;
        at = next;
    }
    auto segment = [&](std::size_t i) { return path.substr(cut[i] + 1, cut[i + 1] - cut[i] - 1); };
    for (std::size_t k = 1; k <= 2; ++k) {  // {model} of one segment, then of two
        if (n < k + 2 || segment(k) != "resolve") continue;
        const std::string_view file = path.substr(cut[k + 2] + 1);
        if (file.empty() || file == "/") return std::nullopt;
        return HfPath{path.substr(1, cut[k] - 1), segment(k + 1), file};
    }
    return std::nullopt;
}

bool resolve_hf_layout(const Resources& r, Target& target, HfRequest& hf) {
    if (target.verdict != Target::Verdict::ok || !r.repos) return false;
    std::optional<HfPath> p = parse_hf_path(target.path);
    if (!p) return false;
    auto repo = r.repos->snapshot(std::string(p->model));
    if (repo && repo->find("resolve")) return false;  // a real file or folder of that name: the path is its own
    if (!repo && r.files->open(std::string_view(target.path).substr(1)).result == fs::Lookup::Result::found)
        return false;  // no such folder in the root, but a mount holds the path as it is
    hf.active = true;
    hf.model.assign(p->model);
    hf.revision.assign(p->revision);
    hf.repo = std::move(repo);
    std::string mapped = "/";
    mapped.append(p->model).append(1, '/').append(p->file);
    target.path = std::move(mapped);
    return true;
}

bool resolve_webllm_alias(const Resources& r, const mirror::Mirrors* mirrors, Target& target) {
    static constexpr std::string_view names[] = {"tensor-cache.json", "ndarray-cache.json"};
    if (target.verdict != Target::Verdict::ok) return false;
    const std::string_view last = target.last_segment();
    if ((last != names[0] && last != names[1]) || (mirrors && mirrors->covers(target.path))) return false;
    const std::string_view path = std::string_view(target.path).substr(1);
    if (r.files->open(path).result != fs::Lookup::Result::not_found) return false;
    std::string other(path.substr(0, path.size() - last.size()));
    other.append(last == names[0] ? names[1] : names[0]);
    if (r.files->open(other).result != fs::Lookup::Result::found) return false;
    target.path = "/" + other;
    return true;
}

Reply hub_error(std::string_view code, std::string_view message, unsigned version) {
    Reply res{bhttp::status::not_found, version};
    res.set(bhttp::field::content_type, json_type);
    res.set(bhttp::field::cache_control, always_revalidate);
    res.set("X-Error-Code", code);
    res.set("X-Error-Message", message);
    res.body().text = nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return res;
}

void serve_hf(const Policy& p, const Resources& r, const RoutePolicy& route, const Target& target, const Request& req,
              const HfRequest& hf, Reply& res, std::string& note) {
    if (!hf.repo) {
        note = "no such repository";
        res = hub_error("RepoNotFound", "Repository not found", req.version());
        return;
    }
    if (!known_revision(*hf.repo, hf.revision)) {
        note = "unknown revision";
        res = hub_error("RevisionNotFound", "Invalid rev id: " + hf.revision, req.version());
        res.set("X-Repo-Commit", hf.repo->commit);
        return;
    }
    serve_static(p, r, route, target, req, res, note, p.huggingface.compress);
    if (res.result() == bhttp::status::not_found) {
        res = hub_error("EntryNotFound", "Entry not found", req.version());
        res.set("X-Repo-Commit", hf.repo->commit);  // the commit it is missing from (huggingface_hub caches that)
    } else if (res.result_int() < 500) {
        hub_headers(r, hf, std::string_view(target.path).substr(hf.model.size() + 2), res);
    }
}

}  // namespace modelhost::http
