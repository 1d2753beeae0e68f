// Facts, then rules: the file's facts decide the representation and validators; RFC 9110 decides the status.
//   a. lookup beneath the root -> size, mtime, inode (404/500/503 when missing or unreadable)
//   b. representation: br/gz sidecar, cached on-the-fly gzip, or identity (identity whenever a Range is asked for)
//   c. validators of that representation: strong ETag from inode, size, ns mtime and coding; Last-Modified
//   d. preconditions (RFC 9110 §13.2.2) -> 412 / 304
//   e. range (RFC 9110 §14) -> 206 / 416; several ranges -> the whole representation (200)
#include "http/static_file.hpp"

#include "http/conditional.hpp"
#include "http/encoding.hpp"
#include "http/finalise.hpp"
#include "http/head_cache.hpp"
#include "http/mime.hpp"
#include "http/range.hpp"
#include "http/vary.hpp"

#include <ctime>

namespace modelhost::http {

namespace {

// The bytes chosen for this response and their pre-built headers (validators included).
struct Representation {
    fs::Lookup file;                        // identity or sidecar file (descriptor or cached bytes)
    std::shared_ptr<const std::string> gz;  // on-the-fly gzip, when chosen
    Coding coding = Coding::identity;
    std::shared_ptr<const RepresentationHead> head;
    bool negotiable = false;  // the coding depends on Accept-Encoding: Vary it
};

std::string etag_of(const fs::Lookup& f, std::string_view suffix) {
    char buf[96];
    auto ns = static_cast<unsigned long long>(f.mtime.tv_sec) * 1000000000ull + static_cast<unsigned long long>(f.mtime.tv_nsec);
    int n = std::snprintf(buf, sizeof buf, "\"%llx-%llx-%llx%s%.*s\"", static_cast<unsigned long long>(f.inode),
                          static_cast<unsigned long long>(f.size), ns, suffix.empty() ? "" : "-",
                          static_cast<int>(suffix.size()), suffix.data());
    return std::string(buf, static_cast<std::size_t>(n));
}

// The headers describing `f` (the file whose version they follow) in `coding`; 200, 206 and 304 all carry them.
// Built once per file version and reused until the file changes.
std::shared_ptr<const RepresentationHead> head_for(const Policy& p, const std::string& relative, HeadCache::Slot slot,
                                                   const fs::Lookup& f, Coding coding, std::string_view type,
                                                   std::string_view path) {
    if (auto cached = p.heads->find(relative, slot, f)) return cached;
    auto h = std::make_shared<RepresentationHead>();
    h->etag = etag_of(f, slot == HeadCache::Slot::gzip_memory ? "gz" : coding_token(coding));
    h->last_modified = f.mtime.tv_sec;
    append_header_line(h->lines, "ETag", h->etag);
    append_header_line(h->lines, "Last-Modified", format_http_date(h->last_modified));
    if (auto cc = p.cache_control.value_for(path); !cc.empty()) append_header_line(h->lines, "Cache-Control", cc);
    h->validators_end = h->lines.size();
    append_header_line(h->lines, "Content-Type", type);
    append_header_line(h->lines, "Accept-Ranges", "bytes");
    if (coding != Coding::identity) append_header_line(h->lines, "Content-Encoding", coding_token(coding));
    p.heads->store(relative, slot, f, h);
    return h;
}

// A sidecar counts only when it is a regular file at least as new as the file it compresses.
fs::Lookup sidecar(const Policy& p, const std::string& relative, const char* ext, const fs::Lookup& identity) {
    fs::Lookup s = p.files.open(relative + ext);
    if (s.result != fs::Lookup::Result::found || s.mtime.tv_sec < identity.mtime.tv_sec) s = fs::Lookup{};
    return s;
}

Representation choose(const Policy& p, const std::string& relative, std::string_view path, const fs::Lookup& identity,
                      std::string_view type, const Request& req) {
    using Slot = HeadCache::Slot;
    Representation r;
    const auto& z = p.compression;
    r.negotiable = (z.precompressed || z.gzip) && compressible(type);
    r.file = identity;
    bool ranged = req.method() == bhttp::verb::get && req.find(bhttp::field::range) != req.end();
    auto ae = req[bhttp::field::accept_encoding];
    if (!ranged && !ae.empty()) {
        AcceptEncoding accept = parse_accept_encoding({ae.data(), ae.size()});
        auto found = [](const fs::Lookup& l) { return l.result == fs::Lookup::Result::found; };
        fs::Lookup br, gz;
        if (z.precompressed && choose_coding(accept, true, false) == Coding::br) br = sidecar(p, relative, ".br", identity);
        if (z.precompressed && choose_coding(accept, false, true) == Coding::gzip) gz = sidecar(p, relative, ".gz", identity);
        std::shared_ptr<const std::string> fly;
        if (!found(gz) && z.gzip && compressible(type) && choose_coding(accept, false, true) == Coding::gzip)
            fly = p.gzip->get(relative, head_for(p, relative, Slot::identity, identity, Coding::identity, type, path)->etag,
                              identity);
        r.coding = choose_coding(accept, found(br), found(gz) || fly);
        if (r.coding == Coding::br) r.file = br;
        if (r.coding == Coding::gzip && found(gz)) r.file = gz;
        if (r.coding == Coding::gzip && !found(gz)) r.gz = fly;
    }
    if (r.coding != Coding::identity) r.negotiable = true;
    Slot slot = r.gz ? Slot::gzip_memory
                : r.coding == Coding::br ? Slot::br_file
                : r.coding == Coding::gzip ? Slot::gzip_file
                                           : Slot::identity;
    r.head = head_for(p, relative, slot, r.gz ? identity : r.file, r.coding, type, path);
    return r;
}

// The representation's pre-built lines (only the validator and caching ones on a 304) and its Vary token.
void describe(Reply& res, const Representation& r) {
    res.representation = r.head;
    res.validators_only = res.result() == bhttp::status::not_modified;
    if (r.negotiable) append_vary(res, "Accept-Encoding");
}

}  // namespace

Reply serve_static(const Policy& p, const Target& target, const Request& req, std::string& note) {
    const unsigned version = req.version();
    if (target.path.ends_with('/')) {
        note = "directory";
        return error_reply(bhttp::status::not_found, version);
    }
    std::string relative = target.path.substr(1);
    fs::Lookup identity = p.files.open(relative);  // a. facts
    switch (identity.result) {
        case fs::Lookup::Result::found: break;
        case fs::Lookup::Result::not_found: return error_reply(bhttp::status::not_found, version);
        case fs::Lookup::Result::unavailable:
            note = "out of file descriptors";
            return error_reply(bhttp::status::service_unavailable, version);
        case fs::Lookup::Result::error:
            note = "I/O error";
            return error_reply(bhttp::status::internal_server_error, version);
    }
    std::string_view type = mime_type(target.segments.back());
    const std::uint64_t identity_size = identity.size;
    Representation rep = choose(p, relative, target.path, identity, type, req);  // b, c
    Validators v{rep.head->etag, rep.head->last_modified};

    switch (evaluate_preconditions(req, req.method(), v, std::time(nullptr))) {  // d
        case Precondition::failed: {
            note = "precondition failed";
            return error_reply(bhttp::status::precondition_failed, version);
        }
        case Precondition::not_modified: {
            Reply res{bhttp::status::not_modified, version};
            describe(res, rep);
            return res;
        }
        case Precondition::proceed: break;
    }

    Reply res{bhttp::status::ok, version};
    auto& body = res.body();
    if (rep.gz) {
        body.blob = rep.gz;
        body.length = rep.gz->size();
    } else {
        body.blob = rep.file.content;  // small files come from memory, the rest from the open file
        if (!body.blob) body.file = rep.file.file;
        body.length = rep.file.size;
    }
    auto range_header = req[bhttp::field::range];
    bool ranged = req.method() == bhttp::verb::get && !range_header.empty() && rep.coding == Coding::identity;
    auto if_range = req[bhttp::field::if_range];
    if (ranged && (if_range.empty() || if_range_allows({if_range.data(), if_range.size()}, v))) {  // e
        RangeRequest range = parse_range({range_header.data(), range_header.size()}, identity_size);
        if (range.kind == RangeRequest::Kind::unsatisfiable) {
            note = "range not satisfiable";
            Reply err = error_reply(bhttp::status::range_not_satisfiable, version);
            err.set(bhttp::field::content_range, "bytes */" + std::to_string(identity_size));
            return err;
        }
        if (range.kind == RangeRequest::Kind::single) {
            res.result(bhttp::status::partial_content);
            body.offset = range.first;
            body.length = range.length;
            res.set(bhttp::field::content_range, "bytes " + std::to_string(range.first) + "-" +
                                                     std::to_string(range.first + range.length - 1) + "/" +
                                                     std::to_string(identity_size));
        }
    }
    describe(res, rep);
    return res;
}

}  // namespace modelhost::http
