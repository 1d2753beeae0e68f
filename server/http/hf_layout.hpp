// The Hugging Face layout over the root's folders (docs/HUGGINGFACE.md): /{model}/resolve/{revision}/{path} is
// ROOT/{model}/{path} with the hub's headers, and /api/models/{model}[...] the hub's model API over the same folder.
// Resolved in the target step; the file then goes through the same pipeline as any other.
#pragma once

#include "fs/repo.hpp"
#include "http/message.hpp"
#include "http/policy.hpp"
#include "http/resources.hpp"
#include "http/target.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace modelhost::mirror {
class Mirrors;
}

namespace modelhost::http {

// The parts of a path in the layout's shape, as views into it.
struct HfPath {
    std::string_view model;     // "acme/tiny" or "tiny"
    std::string_view revision;  // "main", a commit id, ...
    std::string_view file;      // "onnx/model.onnx"; ends in '/' when the path did
};

// `path` (a decoded, normalised target path) split as /{model}/resolve/{revision}/{file}, where {model} is one or two
// segments; nullopt for any other shape.
std::optional<HfPath> parse_hf_path(std::string_view path);

// The revisions a folder answers to: "main" (and "HEAD", which the hub clients ask the API for) always, and the
// commit it records or derives (fs/repo.hpp). Others (branches, tags, older commits) are RevisionNotFound.
bool known_revision(const fs::RepoSnapshot& repo, std::string_view revision);

// What the target step found of the layout in one request.
struct HfRequest {
    bool active = false;  // the path has the layout's shape and the target now names the file
    std::string model, revision;
    std::shared_ptr<const fs::RepoSnapshot> repo;  // null: no such folder
};

// Step 1′: when `target`'s path has the layout's shape and names no real file (the repository's folder holds no
// "resolve" entry; without a folder, no mount or file has the path), rewrites the target to /{model}/{file} and fills
// `hf`. False for any other path.
bool resolve_hf_layout(const Resources& resources, Target& target, HfRequest& hf);

// Step 1″: WebLLM's tensor cache is tensor-cache.json since apache/tvm #18275 and ndarray-cache.json before, and a
// runtime asks for the name it knows. When `target` names one of them that the root lacks and its folder holds the
// other, rewrites the target to that file: one file answers both names, with the same bytes and validators. Not
// under a mirror (`mirrors`, may be null): its upstream answers for its own names. True when it rewrote.
bool resolve_webllm_alias(const Resources& resources, const mirror::Mirrors* mirrors, Target& target);

// Step 7 under the layout: RepoNotFound or RevisionNotFound (404, the hub's X-Error-Code), or the file (identity
// unless huggingface.compress) with X-Repo-Commit and, for an LFS file, X-Linked-Size and X-Linked-Etag; a missing
// file EntryNotFound.
void serve_hf(const Policy& policy, const Resources& resources, const RoutePolicy& route, const Target& target,
              const Request& req, const HfRequest& hf, Reply& res, std::string& note);

// Step 5′, a GET or HEAD of the hub's model API (unless the root has a real "api" folder): /api/models/{model} and
// .../revision/{rev} (id, sha, siblings; sizes and LFS with ?blobs=true), .../tree/{rev}[/{path}] (?recursive=true,
// paginated by Link as the hub does). False for any other path.
// The folders a mirror covers (`mirrors`, may be null) are not answered: the mirror's store is not a repository.
// With `may_wait`, an answer that needs file hashes not known yet sets `ex.wait` instead (they are read off the I/O
// threads); asked again without it, it is made from what is known.
bool answer_hf_api(const Policy& policy, const Resources& resources, const mirror::Mirrors* mirrors, const Target& target,
                   const Request& req, bool may_wait, Exchange& ex);

// The hub's headers on a file's answer, from a local folder or a mirror: the commit, and for an LFS file whose
// SHA-256 is known (`sha256` not empty) its size and that hash, which the hub sends beside its redirect to its CDN.
void put_hub_headers(Reply& res, std::string_view commit, std::string_view sha256, std::uint64_t size);

// A 404 the way the hub sends it: X-Error-Code and X-Error-Message, and {"error": message} as JSON.
Reply hub_error(std::string_view code, std::string_view message, unsigned version);

}  // namespace modelhost::http
