// Facts, then rules: the file's facts decide the representation and validators; RFC 9110 decides the status.
//   7a. lookup beneath the root -> size, mtime, inode (404/500/503 when missing or unreadable)
//   7b. representation: br/gz sidecar, cached on-the-fly gzip, or identity (identity whenever a Range is asked for)
//   7c. validators of that representation: strong ETag from size, ns mtime and coding (or the content's hash and
//       coding, server.etag "content"); Last-Modified
//   7d. preconditions (RFC 9110 §13.2.2) -> 412 / 304
//   7e. range (RFC 9110 §14) -> 206 / 416; several ranges -> the whole representation (200)
// A file a mirror is still fetching (7′) skips 7a-7b: its identity bytes are the representation, its validators those
// the stored file will have, as far as they are known yet. Its head is written by the same function (head_of) and
// 7d-7e are the same step (answer).
#include "http/static_file.hpp"

#include "http/conditional.hpp"
#include "fs/digest.hpp"
#include "base/http_date.hpp"
#include "http/encoding.hpp"
#include "http/finalise.hpp"
#include "http/head_cache.hpp"
#include "http/mime.hpp"
#include "http/range.hpp"
#include "http/resources.hpp"
#include "http/vary.hpp"

#include <algorithm>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>
#include <unistd.h>

namespace modelhost::http {

namespace {

// The bytes chosen for this response and their pre-built headers (validators included).
struct Representation {
    fs::Lookup file;                        // identity or sidecar file (descriptor or cached bytes)
    std::shared_ptr<const std::string> gz;  // on-the-fly gzip, when chosen
    Coding coding = Coding::identity;
    std::shared_ptr<const fs::GrowingFile> growing;  // set when the bytes are still arriving (`file` is its file)
    std::shared_ptr<const RepresentationHead> head;
    bool negotiable = false;  // the coding depends on Accept-Encoding: Vary it
};

// Whether a file of this type may be sent in another coding than identity, so that its answers Vary on
// Accept-Encoding (even an identity one: another client may be sent gzip).
bool negotiable(const Policy& p, std::string_view type) {
    return (p.compression.precompressed || p.compression.gzip) && compressible(type);
}

// The strong ETag of a file version in one coding: its size and nanosecond mtime (and the coding). No inode or
// device: two origins serving the same file (copied with its mtime: rsync -t, cp -p, tar, docker COPY, a shared
// volume) give the same ETag, so a shared cache in front of both can revalidate against either (the way nginx's
// ETags work).
std::string etag_of(const fs::Lookup& f, std::string_view suffix) {
    char buf[80];
    auto ns = static_cast<unsigned long long>(f.mtime.tv_sec) * 1000000000ull + static_cast<unsigned long long>(f.mtime.tv_nsec);
    int n = std::snprintf(buf, sizeof buf, "\"%llx-%llx%s%.*s\"", static_cast<unsigned long long>(f.size), ns,
                          suffix.empty() ? "" : "-", static_cast<int>(suffix.size()), suffix.data());
    return std::string(buf, static_cast<std::size_t>(n));
}

// A content ETag from the hex SHA-256 of the bytes: its first 128 bits, and the coding. A compiled-in file's comes
// from its build (base/assets.hpp), so it equals the one a disk copy of the same bytes gets with server.etag "content".
std::string quoted_digest(std::string_view hex, std::string_view suffix) {
    std::string out(1, '"');
    out.append(hex.substr(0, 32));
    if (!suffix.empty()) out.append(1, '-').append(suffix);
    return out.append(1, '"');
}

// The strong ETag of a file version from its bytes (server.etag "content"). Read once per version (the head cache keeps
// it), so origins serving the same bytes agree whatever their mtimes. nullopt when the file cannot be read (the
// mtime form is used then).
std::optional<std::string> content_etag_of(const fs::Lookup& f, std::string_view suffix) {
    std::optional<std::string> hex;
    if (f.content) hex = fs::digest_bytes(fs::Digest::sha256, {f.content.get(), static_cast<std::size_t>(f.size)});
    else if (f.file) hex = fs::digest_file(fs::Digest::sha256, f.file->fd(), f.file_offset, f.size);
    if (!hex || hex->empty()) return std::nullopt;
    return quoted_digest(*hex, suffix);
}

// What the gzip cache keys a version on: the ETag's facts plus the inode, so a file replaced by another of the same
// size and mtime is compressed again.
std::string version_of(const fs::Lookup& f) {
    char buf[80];
    int n = std::snprintf(buf, sizeof buf, "%llx:%llx:%llx.%lx", static_cast<unsigned long long>(f.inode),
                          static_cast<unsigned long long>(f.size), static_cast<unsigned long long>(f.mtime.tv_sec),
                          static_cast<unsigned long>(f.mtime.tv_nsec));
    return std::string(buf, static_cast<std::size_t>(n));
}

// What a representation's head says, from whichever bytes answer: a stored file's lookup, or what is known of a file
// a mirror is still fetching.
struct HeadFacts {
    std::string etag;                          // strong, quoted; empty while not known
    std::optional<std::time_t> last_modified;  // none while not known
    std::string_view type;
    Coding coding = Coding::identity;
};

// The one place a file's head is written: 200, 206 and 304 all carry it (a 304 its validator and caching lines). A
// header the route configures is left out: the route's lines carry it.
std::shared_ptr<RepresentationHead> head_of(const Policy& p, const RoutePolicy& route, std::string_view path, HeadFacts facts) {
    auto h = std::make_shared<RepresentationHead>();
    auto put = [&](std::string_view name, std::string_view lower, std::string_view value) {
        if (!route.configures(lower)) append_header_line(h->lines, name, value);
    };
    h->etag = std::move(facts.etag);
    h->last_modified = facts.last_modified;
    if (!h->etag.empty()) put("ETag", "etag", h->etag);
    if (h->last_modified) put("Last-Modified", "last-modified", format_http_date(*h->last_modified));
    if (auto cc = p.cache_control.value_for(path); !cc.empty()) put("Cache-Control", "cache-control", cc);
    h->validators_end = h->lines.size();
    put("Content-Type", "content-type", facts.type);
    put("Accept-Ranges", "accept-ranges", "bytes");
    if (facts.coding != Coding::identity) put("Content-Encoding", "content-encoding", coding_token(facts.coding));
    return h;
}

// The head of `f` (the file whose version it follows) in `coding`. Built once per file version (a path has one route,
// so the cache needs no route in its key; a reload that changes the routes, headers, cache rules or ETag mode starts
// a new cache, resources.cpp) and reused until the file changes.
std::shared_ptr<const RepresentationHead> head_for(const Policy& p, const Resources& r, const RoutePolicy& route,
                                                   std::string_view relative, HeadCache::Slot slot, const fs::Lookup& f,
                                                   Coding coding, std::string_view type, std::string_view path) {
    if (auto cached = r.heads->find(relative, slot, f)) return cached;
    const std::string_view suffix = slot == HeadCache::Slot::gzip_memory ? "gz" : coding_token(coding);
    std::optional<std::string> by_content;
    if (!f.sha256.empty()) by_content = quoted_digest(f.sha256, suffix);  // a compiled-in file's, from its build
    else if (p.etag == config::ServerConfig::Etag::content) by_content = content_etag_of(f, suffix);
    auto h = head_of(p, route, path, {by_content ? std::move(*by_content) : etag_of(f, suffix), f.mtime.tv_sec, type, coding});
    r.heads->store(relative, slot, f, h);
    return h;
}

// The head of a file a mirror is still fetching, in identity: the validators the stored file will have, as far as
// they are known now. Its mtime will be the upstream's Last-Modified (mirror.cpp, install), so that date is its
// Last-Modified and, with the length promised, its "mtime" ETag; a "content" ETag needs the bytes, which are not all
// there yet.
std::shared_ptr<const RepresentationHead> growing_head(const Policy& p, const RoutePolicy& route, std::string_view path,
                                                       std::uint64_t size, std::time_t last_modified, std::string_view type) {
    HeadFacts facts{{}, std::nullopt, type, Coding::identity};
    if (last_modified > 0) {
        facts.last_modified = last_modified;
        fs::Lookup stored;  // the stored file's facts once installed: this size, that mtime
        stored.size = size;
        stored.mtime.tv_sec = last_modified;
        if (p.etag == config::ServerConfig::Etag::mtime) facts.etag = etag_of(stored, {});
    }
    return head_of(p, route, path, std::move(facts));
}

// A sidecar counts only when it is a regular file at least as new as the file it compresses.
fs::Lookup sidecar(const Resources& r, std::string_view relative, const char* ext, const fs::Lookup& identity) {
    thread_local std::string name;  // reused: no allocation per request
    name.assign(relative).append(ext);
    fs::Lookup s = r.files->open(name);
    if (s.result != fs::Lookup::Result::found || s.mtime.tv_sec < identity.mtime.tv_sec) s = fs::Lookup{};
    return s;
}

bool found(const fs::Lookup& l) { return l.result == fs::Lookup::Result::found; }

// What the client asked for that shapes the representation, read once: a Range on a GET means the identity bytes
// (ranges are always served from them), so it is also the range step's input.
struct Ask {
    bool ranged = false;
    std::string_view range;  // the Range value when `ranged`
    AcceptEncoding accept;
    bool any_coding = false;  // Accept-Encoding present (and not ranged)
};

// `codings`: false where only identity is sent (the Hugging Face layout by default).
Ask ask_of(const Request& req, bool codings = true) {
    Ask a;
    auto range = req[bhttp::field::range];
    a.ranged = req.method() == bhttp::verb::get && !range.empty();
    a.range = {range.data(), range.size()};
    auto ae = req[bhttp::field::accept_encoding];
    a.any_coding = codings && !a.ranged && !ae.empty();
    if (a.any_coding) a.accept = parse_accept_encoding({ae.data(), ae.size()});
    return a;
}

// What exists for the codings the client accepts: sidecar files (opened only when acceptable) and whether gzip on
// the fly may be offered.
struct Offer {
    fs::Lookup br, gz;
    bool gz_on_the_fly = false;
};

Offer offer_of(const Policy& p, const Resources& r, std::string_view relative, const fs::Lookup& identity, std::string_view type, const Ask& ask) {
    Offer o;
    if (!ask.any_coding) return o;
    const auto& z = p.compression;
    if (z.precompressed && accepts(ask.accept, Coding::br)) o.br = sidecar(r, relative, ".br", identity);
    if (z.precompressed && accepts(ask.accept, Coding::gzip)) o.gz = sidecar(r, relative, ".gz", identity);
    o.gz_on_the_fly = !found(o.gz) && z.gzip && compressible(type) && identity.size > 0 && identity.size <= z.gzip_max_bytes;
    return o;
}

// The representation, decided once: one choice of coding over what is offered, then its bytes and headers.
// When the on-the-fly gzip cannot be had right now (it would not shrink, or another request is compressing this
// version) the identity bytes are sent.
Representation choose(const Policy& p, const Resources& res, const RoutePolicy& route, std::string_view relative,
                      std::string_view path, fs::Lookup identity, std::string_view type, const Ask& ask, bool codings) {
    using Slot = HeadCache::Slot;
    Offer offer = offer_of(p, res, relative, identity, type, ask);
    Representation r;
    r.negotiable = codings && negotiable(p, type);
    r.coding = ask.any_coding ? choose_coding(ask.accept, found(offer.br), found(offer.gz) || offer.gz_on_the_fly)
                              : Coding::identity;
    Slot slot = Slot::identity;
    if (r.coding == Coding::br) {
        r.file = std::move(offer.br);
        slot = Slot::br_file;
    } else if (r.coding == Coding::gzip && found(offer.gz)) {
        r.file = std::move(offer.gz);
        slot = Slot::gzip_file;
    } else {
        if (r.coding == Coding::gzip) {
            r.gz = res.gzip->get(std::string(relative), version_of(identity), identity);
            if (r.gz) slot = Slot::gzip_memory;
            else r.coding = Coding::identity;
        }
        r.file = std::move(identity);  // the identity file (whose version the in-memory gzip follows too)
    }
    r.negotiable = r.negotiable || r.coding != Coding::identity;
    // Sidecars have versions of their own; the identity and in-memory gzip follow the identity file's.
    r.head = head_for(p, res, route, relative, slot, r.file, r.coding, type, path);
    return r;
}

// The representation's pre-built lines (only the validator and caching ones on a 304) and its Vary token; the
// reply takes them over.
void describe(Reply& res, Representation& r) {
    res.representation = std::move(r.head);
    res.validators_only = res.result() == bhttp::status::not_modified;
    if (r.negotiable) append_vary(res, "Accept-Encoding");
}

// Step 7a: the file's facts, or the error that answers instead.
std::optional<Reply> lookup_failure(const fs::Lookup& identity, unsigned version, std::string& note) {
    switch (identity.result) {
        case fs::Lookup::Result::found: return std::nullopt;
        case fs::Lookup::Result::not_found: return error_reply(bhttp::status::not_found, version);
        case fs::Lookup::Result::unavailable:
            note = "out of file descriptors";
            return error_reply(bhttp::status::service_unavailable, version);
        case fs::Lookup::Result::error:
            note = "I/O error";
            return error_reply(bhttp::status::internal_server_error, version);
    }
    return std::nullopt;
}

// The representation's bytes: in-memory gzip, cached small-file bytes, or the open file; the reply takes them over.
void set_content(Reply& res, Representation& rep) {
    auto& body = res.body();
    if (rep.gz) {
        body.blob = fs::bytes_of(rep.gz);
        body.length = rep.gz->size();
        return;
    }
    body.blob = std::move(rep.file.content);  // small files come from memory, the rest from the open file
    if (!body.blob) {
        body.file = std::move(rep.file.file);
        body.offset = rep.file.file_offset;
    }
    body.length = rep.file.size;
    body.growing = std::move(rep.growing);
}

// A span within a larger file's first bytes is sent from those bytes, read when the file was opened: the loaders'
// `bytes=0-0` probe and a format's header read cost no read of their own.
void from_head(ReplyBody::value_type& body, const fs::Lookup& file) {
    if (!body.file || body.growing || !file.head || file.file_offset != 0 || body.offset + body.length > file.head_size)
        return;
    body.blob = file.head;
    body.file.reset();
}

// Step 7e (RFC 9110 §14): a single satisfiable range -> 206; unsatisfiable -> 416; several -> the whole (200).
// Only on identity bytes, and only while If-Range (§13.1.5) still matches.
std::optional<Reply> apply_range(Reply& res, const Ask& ask, const Representation& rep, const Validators& v,
                                 const Request& req, std::string& note) {
    if (!ask.ranged || rep.coding != Coding::identity) return std::nullopt;
    auto if_range = req[bhttp::field::if_range];
    if (!if_range.empty() && !if_range_allows({if_range.data(), if_range.size()}, v)) return std::nullopt;
    const std::uint64_t size = rep.file.size;
    RangeRequest range = parse_range(ask.range, size);
    if (range.kind == RangeRequest::Kind::unsatisfiable) {
        note = "range not satisfiable";
        Reply err = error_reply(bhttp::status::range_not_satisfiable, req.version());
        err.set(bhttp::field::content_range, "bytes */" + std::to_string(size));
        return err;
    }
    if (range.kind == RangeRequest::Kind::single) {
        res.result(bhttp::status::partial_content);
        res.body().offset += range.first;  // (after where the bytes begin in their file)
        res.body().length = range.length;
        from_head(res.body(), rep.file);
        std::string text;  // "bytes FIRST-LAST/SIZE" (RFC 9110 §14.4), in one allocation (the numbers fit inline)
        text.reserve(64);
        text.append("bytes ").append(std::to_string(range.first)).append("-");
        text.append(std::to_string(range.first + range.length - 1)).append("/").append(std::to_string(size));
        res.set(bhttp::field::content_range, text);
    }
    return std::nullopt;
}

// Steps 7d-7e on the representation chosen, whatever its bytes: preconditions (412 / 304), then its content and any
// range (206 / 416).
void answer(Reply& res, Representation& rep, const Ask& ask, const Request& req, std::string& note) {
    const Validators v{rep.head->etag, rep.head->last_modified};
    switch (evaluate_preconditions(req, req.method(), v, std::time(nullptr))) {  // 7d
        case Precondition::failed:
            note = "precondition failed";
            res = error_reply(bhttp::status::precondition_failed, req.version());
            return;
        case Precondition::not_modified:
            res.result(bhttp::status::not_modified);
            describe(res, rep);
            return;
        case Precondition::proceed: break;
    }
    res.result(bhttp::status::ok);
    set_content(res, rep);
    if (auto refused = apply_range(res, ask, rep, v, req, note)) {  // 7e
        res = std::move(*refused);
        return;
    }
    describe(res, rep);
}

}  // namespace

void serve_static(const Policy& p, const Resources& r, const RoutePolicy& route, const Target& target, const Request& req,
                  Reply& res, std::string& note, bool codings) {
    const unsigned version = req.version();
    res.version(version);
    if (target.path.ends_with('/')) {
        note = "directory";
        res = error_reply(bhttp::status::not_found, version);
        return;
    }
    const std::string_view relative = std::string_view(target.path).substr(1);
    fs::Lookup identity = r.files->open(relative);  // 7a. facts
    if (auto failed = lookup_failure(identity, version, note)) {
        res = std::move(*failed);
        return;
    }
    const Ask ask = ask_of(req, codings);
    const std::string_view type = mime_type(target.last_segment());
    Representation rep = choose(p, r, route, relative, target.path, std::move(identity), type, ask, codings);  // 7b, 7c
    answer(res, rep, ask, req, note);
}

void serve_growing(const Policy& p, const RoutePolicy& route, const Target& target, const Request& req,
                   std::shared_ptr<const fs::GrowingFile> growing, std::time_t last_modified, Reply& res, std::string& note) {
    res.version(req.version());
    const std::string_view type = mime_type(target.last_segment());
    Representation rep;  // identity: the bytes as they arrive
    rep.file.result = fs::Lookup::Result::found;
    rep.file.size = growing->size();
    rep.file.file = growing->file();
    rep.growing = std::move(growing);
    rep.negotiable = negotiable(p, type);
    rep.head = growing_head(p, route, target.path, rep.file.size, last_modified, type);
    answer(res, rep, ask_of(req), req, note);
}

}  // namespace modelhost::http
