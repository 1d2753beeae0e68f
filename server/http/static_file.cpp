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
#include "http/mime.hpp"
#include "http/range.hpp"
#include "http/vary.hpp"

#include <ctime>

namespace modelhost::http {

namespace {

// The bytes chosen for this response and their validators.
struct Representation {
    fs::Lookup file;                        // identity or sidecar file (descriptor or cached bytes)
    std::shared_ptr<const std::string> gz;  // on-the-fly gzip, when chosen
    Coding coding = Coding::identity;
    std::string etag;
    std::time_t last_modified = 0;
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

// A sidecar counts only when it is a regular file at least as new as the file it compresses.
fs::Lookup sidecar(const Policy& p, const std::string& relative, const char* ext, const fs::Lookup& identity) {
    fs::Lookup s = p.files.open(relative + ext);
    if (s.result != fs::Lookup::Result::found || s.mtime.tv_sec < identity.mtime.tv_sec) s = fs::Lookup{};
    return s;
}

Representation choose(const Policy& p, const std::string& relative, const fs::Lookup& identity, std::string_view type,
                      const Request& req) {
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
            fly = p.gzip->get(relative, etag_of(identity, ""), identity);
        r.coding = choose_coding(accept, found(br), found(gz) || fly);
        if (r.coding == Coding::br) r.file = br;
        if (r.coding == Coding::gzip && found(gz)) r.file = gz;
        if (r.coding == Coding::gzip && !found(gz)) r.gz = fly;
    }
    if (r.coding != Coding::identity) r.negotiable = true;
    r.etag = r.gz ? etag_of(identity, "gz") : etag_of(r.file, coding_token(r.coding));
    r.last_modified = r.gz ? identity.mtime.tv_sec : r.file.mtime.tv_sec;
    return r;
}

// Headers that describe the representation; 200, 206 and 304 all carry them.
void describe(Reply& res, const Policy& p, const Representation& r, std::string_view type, std::string_view path) {
    res.set(bhttp::field::etag, r.etag);
    res.set(bhttp::field::last_modified, format_http_date(r.last_modified));
    if (auto cc = p.cache_control.value_for(path); !cc.empty()) res.set(bhttp::field::cache_control, cc);
    if (r.negotiable) append_vary(res, "Accept-Encoding");
    if (res.result() == bhttp::status::not_modified) return;
    res.set(bhttp::field::content_type, type);
    res.set(bhttp::field::accept_ranges, "bytes");
    if (r.coding != Coding::identity) res.set(bhttp::field::content_encoding, coding_token(r.coding));
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
    Representation rep = choose(p, relative, identity, type, req);  // b, c
    Validators v{rep.etag, rep.last_modified};

    switch (evaluate_preconditions(req, req.method(), v, std::time(nullptr))) {  // d
        case Precondition::failed: {
            note = "precondition failed";
            return error_reply(bhttp::status::precondition_failed, version);
        }
        case Precondition::not_modified: {
            Reply res{bhttp::status::not_modified, version};
            describe(res, p, rep, type, target.path);
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
    describe(res, p, rep, type, target.path);
    return res;
}

}  // namespace modelhost::http
