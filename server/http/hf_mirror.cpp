// The huggingface mirror's two steps over Mirrors::decide (mirror/mirror.hpp): the revision answer, then the file.
#include "http/hf_mirror.hpp"

#include "http/hf_layout.hpp"
#include "http/mime.hpp"
#include "http/reply.hpp"
#include "http/static_file.hpp"
#include "mirror/mirror.hpp"


namespace modelhost::http {

namespace {

// A failed step as the client sees it: the hub's 404s with their codes, else the mirror's status.
Reply failed_step(unsigned status, const char* code, const std::string& message, unsigned version) {
    if (status == 404) return hub_error(code, message, version);
    return error_reply(static_cast<bhttp::status>(status), version);
}

// Step one: the revision answer, stored (and fresh enough), or the wait for it; null with `ex` made otherwise.
std::shared_ptr<const models::HfRevision> revision_of(const mirror::Mirrors& mirrors, const HfRevisionCache& revisions,
                                                      const std::string& prefix, const HfPath& hf, const Request& req,
                                                      bool may_wait, Exchange& ex, bool& waiting) {
    const std::string path = prefix + "api/models/" + std::string(hf.model) + "/revision/" + std::string(hf.revision);
    mirror::Decision d = mirrors.decide(path, "blobs=true", may_wait);
    ex.log.note = d.note;
    switch (d.kind) {
        case mirror::Decision::Kind::wait:
            ex.wait = std::move(d.join);
            waiting = true;
            return nullptr;
        case mirror::Decision::Kind::fail:
            ex.reply = failed_step(d.status, hf.revision == "main" ? "RepoNotFound" : "RevisionNotFound",
                                   hf.revision == "main" ? "Repository not found" : "Invalid rev id: " + std::string(hf.revision),
                                   req.version());
            return nullptr;
        default: break;  // (never streamed: a revision answer is read whole)
    }
    auto rev = revisions.get(mirrors.file_of(path));
    if (!rev) {  // evicted by another process meanwhile, or offline and never stored
        if (mirrors.vanished(path)) return revision_of(mirrors, revisions, prefix, hf, req, true, ex, waiting);
        ex.reply = hub_error("RepoNotFound", "Repository not found (offline: not stored)", req.version());
    } else if (!rev->ok()) {
        ex.log.note = "mirror: the hub's revision answer is refused: " + rev->error;
        ex.reply = error_reply(bhttp::status::bad_gateway, req.version());
        return nullptr;
    }
    return rev;
}

}  // namespace

bool from_hf_mirror(const mirror::Mirrors& mirrors, const HfRevisionCache& revisions, const Policy& p, const Resources& r,
                    const RoutePolicy& route, const Target& target, const Request& req, bool may_wait, Exchange& ex) {
    const std::string& prefix = mirrors.rule_for(target.path).path;
    const std::string_view rest = std::string_view(target.path).substr(prefix.size() - 1);  // "/{model}/resolve/..."
    const std::optional<HfPath> hf = parse_hf_path(rest);
    if (!hf) {
        ex.log.note = "mirror: only {model}/resolve/{revision}/{file} is mirrored from a hub";
        ex.reply = error_reply(bhttp::status::not_found, req.version());
        return false;
    }
    bool waiting = false;
    auto rev = revision_of(mirrors, revisions, prefix, *hf, req, may_wait, ex, waiting);
    if (!rev) return waiting;
    const models::HfSibling* file = rev->find(hf->file);
    if (file && is_active_content(mime_type(target.last_segment()))) {
        ex.log.note = "mirror: active content (HTML, JS, SVG, XML) is never mirrored";
        file = nullptr;
    }
    if (!file) {  // not in the revision (or never mirrored): no need to ask the hub
        ex.reply = hub_error("EntryNotFound", "Entry not found", req.version());
        ex.reply.set("X-Repo-Commit", rev->commit);
        return false;
    }
    Target stored = target;  // the file of this commit, where the mirror keeps it
    stored.path = prefix + std::string(hf->model) + "/resolve/" + rev->commit + "/" + file->path;
    mirror::Decision d = mirrors.decide(stored.path, "", may_wait, mirror::Expected{file->size, file->sha256, file->blob_id});
    ex.log.note = d.note;
    switch (d.kind) {
        case mirror::Decision::Kind::wait: ex.wait = std::move(d.join); return true;
        case mirror::Decision::Kind::fail:
            ex.reply = failed_step(d.status, "EntryNotFound", "Entry not found", req.version());
            return false;
        case mirror::Decision::Kind::stream:
            serve_growing(p, route, stored, req, d.growing, d.last_modified, ex.reply, ex.log.note);
            break;
        case mirror::Decision::Kind::serve:
            serve_static(p, r, route, stored, req, ex.reply, ex.log.note, p.huggingface.compress);
            if (ex.reply.result() == bhttp::status::not_found && mirrors.vanished(stored.path)) {
                ex.reply = Reply{};
                return from_hf_mirror(mirrors, revisions, p, r, route, target, req, true, ex);
            }
            if (ex.reply.result() == bhttp::status::not_found)  // offline, and not stored
                ex.reply = hub_error("EntryNotFound", "Entry not found", req.version());
            break;
    }
    if (ex.reply.result_int() < 500) put_hub_headers(ex.reply, rev->commit, file->sha256, file->size);
    return false;
}

}  // namespace modelhost::http
