// Step 7′ under a huggingface mirror (docs/HUGGINGFACE.md): {path}{model}/resolve/{revision}/{file} is answered in
// two mirrored steps. The revision answer ({path}api/models/{model}/revision/{revision}, revalidated after
// revalidate_after) names the commit and lists the files; the file is then mirrored from
// {upstream}{model}/resolve/{commit}/{file} into {path}{model}/resolve/{commit}/{file}, so a new commit never mixes
// with an old one's files, its size and LFS SHA-256 checked before it is installed. The answer carries the hub's
// headers as a local folder's does.
#pragma once

#include "http/message.hpp"
#include "base/parsed_files.hpp"
#include "http/policy.hpp"
#include "http/resources.hpp"
#include "http/target.hpp"
#include "models/hf_revision.hpp"

#include <string>

namespace modelhost::mirror {
class Mirrors;
}

namespace modelhost::http {

// Stored revision answers, parsed once per file version.
struct HfRevisionCache : ParsedFiles<models::HfRevision> {
    HfRevisionCache() : ParsedFiles(models::max_hf_revision_bytes, [](std::string_view t) { return models::read_hf_revision(t); }) {}
};

// The answer for `target` under a huggingface mirror made in `ex`; true when a transfer must be waited for first
// (`ex.wait` set).
bool from_hf_mirror(const mirror::Mirrors& mirrors, const HfRevisionCache& revisions, const Policy& policy,
                    const Resources& resources, const RoutePolicy& route, const Target& target, const Request& req,
                    bool may_wait, Exchange& ex);

}  // namespace modelhost::http
