// The Hugging Face source of `modelhost fetch`: hf:ORG/NAME[@REV] turned into a list of files to verify (the
// revision API's siblings, with sizes, SHA-256 for LFS files and git blob ids), downloaded by the shared fetch.
#pragma once

#include "client/http_client.hpp"
#include "tools/fetch_download.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::tools {

// What to fetch from a hub.
struct HfSpec {
    std::string endpoint = "https://huggingface.co";  // no trailing '/'; HF_ENDPOINT or --endpoint
    std::string repo;                                 // "ORG/NAME" or "NAME"
    std::string revision = "main";
    std::vector<std::string> include, exclude;  // fnmatch globs over whole paths ('*' crosses '/'), as huggingface_hub's
    std::string token;                          // HF_TOKEN: sent only to the endpoint's origin
};

// "hf:ORG/NAME[@REV]" or "https://huggingface.co/ORG/NAME[/tree/REV]" as a spec on `endpoint`; nullopt when `arg` is
// neither (a TF.js model URL). Sets `error` when it is one of those but malformed (the repo id or revision).
std::optional<HfSpec> parse_hf_spec(const std::string& arg, const std::string& endpoint, std::string& error);

// One file of a revision as the hub lists it.
struct HfFile {
    std::string path;
    std::uint64_t size = 0;
    std::string sha256;   // LFS files: hex
    std::string blob_id;  // git's object id (hex SHA-1), when the hub gave it
};

struct HfRevision {
    std::string commit;
    std::vector<HfFile> files;     // the files to fetch: validated, filtered by the spec
    std::vector<std::string> skipped;  // hidden or active-content files, never served, so never fetched
};

// The hub's answer to GET /api/models/{repo}/revision/{rev}?blobs=true, read by models::read_hf_revision (hostile
// siblings refuse it all), then filtered: active content (HTML, JS, SVG, XML) skipped, the spec's globs applied.
// `where` names the answer in messages. Throws FetchError naming the sibling; nothing has been written then.
HfRevision read_hf_revision(std::string_view json, const HfSpec& spec, const std::string& where);

// Asks the hub for the revision (so the work folder is keyed by its commit), then gives the fetch its files:
// downloaded from {endpoint}/{repo}/resolve/{commit}/{path} (the hub's redirects to its CDN followed, the token sent
// only to the endpoint's origin), each checked against the listed size and SHA-256 or blob id, and the commit recorded
// beside them (fs/repo.hpp, commit_record_name) for the server's X-Repo-Commit. Throws FetchError.
Source huggingface_source(const HfSpec& spec, const client::ClientOptions& client, unsigned concurrency);

}  // namespace modelhost::tools
