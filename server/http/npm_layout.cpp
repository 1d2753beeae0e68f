// The npm CDNs' URL shape (https://www.jsdelivr.com/documentation#id-npm, https://unpkg.com): a version in the URL
// may be a tag or a range, answered with a redirect to the exact version, whose files never change.
#include "http/npm_layout.hpp"

#include "config/config.hpp"
#include "mirror/mirror.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>

#include <algorithm>

namespace modelhost::http {

namespace {

Reply redirect(std::string_view prefix, const models::NpmRef& ref, std::string_view version, const Request& req) {
    static constexpr auto path_chars = boost::urls::pchars + '/';
    std::string location(prefix);  // (appended piece by piece: "/" + string is GCC 12's -Wrestrict false positive at -O3)
    location.append(ref.name).append(1, '@').append(version);
    location = boost::urls::encode(location, path_chars);
    if (ref.has_path) location.append(1, '/').append(boost::urls::encode(ref.path, path_chars));
    std::string_view t(req.target().data(), req.target().size());
    if (auto q = t.find('?'); q != std::string_view::npos) location.append(t.substr(q));
    Reply res{bhttp::status::found, req.version()};
    res.set(bhttp::field::location, location);
    res.set(bhttp::field::cache_control, npm_redirect_cache_control);
    return res;
}

// The exact versions ROOT{prefix}{package}@{version}/ holds.
std::vector<std::string> held_versions(const Resources& r, std::string_view prefix, std::string_view name) {
    const std::size_t slash = name.find('/');
    std::string folder(prefix.substr(1));  // "npm/"
    if (slash != std::string_view::npos) folder.append(name.substr(0, slash + 1));
    const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    folder.pop_back();
    std::vector<std::string> versions;
    for (auto& entry : r.files->list(folder)) {
        if (entry.size() > base.size() + 1 && entry.starts_with(base) && entry[base.size()] == '@') {
            std::string v = entry.substr(base.size() + 1);
            if (models::parse_semver(v)) versions.push_back(std::move(v));
        }
    }
    return versions;
}

void not_found(const std::string& note, const Request& req, Exchange& ex) {
    ex.reply = error_reply(bhttp::status::not_found, req.version());
    ex.log.note = note;
}

// The alias under an npm mirror: the package document, mirrored and revalidated after revalidate_after, names it.
bool from_documents(const mirror::Mirrors& mirrors, const NpmDocuments& documents, const models::NpmRef& ref,
                    const std::string& prefix, const Request& req, bool may_wait, Exchange& ex, bool& waiting) {
    const std::string path = prefix + std::string(ref.name);
    mirror::Decision d = mirrors.decide(path, "", may_wait);
    ex.log.note = d.note;
    if (d.kind == mirror::Decision::Kind::wait) {
        ex.wait = std::move(d.join);
        return waiting = true;
    }
    if (d.kind == mirror::Decision::Kind::fail) {
        ex.reply = error_reply(static_cast<bhttp::status>(d.status), req.version());
        return true;
    }
    auto doc = documents.get(mirrors.file_of(path));
    if (!doc && mirrors.vanished(path)) return from_documents(mirrors, documents, ref, prefix, req, true, ex, waiting);
    if (!doc) return not_found("mirror: the package's document is not stored (offline)", req, ex), true;
    if (!doc->ok() || doc->name != ref.name) {
        ex.log.note = "mirror: the registry's document is refused: " + (doc->ok() ? "it names another package" : doc->error);
        ex.reply = error_reply(bhttp::status::bad_gateway, req.version());
        return true;
    }
    const std::string spec = ref.has_spec ? std::string(ref.spec) : "latest";
    auto version = models::resolve_npm_version(spec, doc->version_names(), doc->tags);
    if (!version) return not_found("npm: no version of " + std::string(ref.name) + " matches " + spec, req, ex), true;
    ex.reply = redirect(prefix, ref, *version, req);
    ex.log.note = "npm: " + spec + " is " + *version;
    return true;
}

}  // namespace

std::optional<models::NpmRef> npm_alias(std::string_view path, std::string_view prefix) {
    if (!path.starts_with(prefix)) return std::nullopt;
    auto ref = models::split_npm_ref(path.substr(prefix.size()));
    if (!ref || (ref->has_spec && models::parse_semver(ref->spec))) return std::nullopt;
    return ref;
}

bool npm_package_file(std::string_view path, std::string_view prefix) {
    return path.starts_with(prefix) && models::npm_version_file(path.substr(prefix.size()));
}

bool answer_npm_alias(const Resources& r, const mirror::Mirrors* mirrors, const NpmDocuments* documents, const Target& target,
                      const Request& req, bool may_wait, Exchange& ex, bool& waiting) {
    if (target.verdict != Target::Verdict::ok) return false;
    const std::string_view path = target.path;
    if (mirrors && mirrors->covers(path)) {
        const auto& rule = mirrors->rule_for(path);
        if (rule.kind != config::MirrorConfig::Kind::npm) return false;
        auto ref = npm_alias(path, rule.path);
        return ref && from_documents(*mirrors, *documents, *ref, rule.path, req, may_wait, ex, waiting);
    }
    constexpr std::string_view prefix = "/npm/";
    auto ref = npm_alias(path, prefix);
    if (!ref || r.files->open(path.substr(1)).result == fs::Lookup::Result::found) return false;  // a file of that name
    const std::string spec = ref->has_spec ? std::string(ref->spec) : "latest";
    auto version = models::resolve_npm_version(spec, held_versions(r, prefix, ref->name));
    if (!version) return not_found("npm: no version of " + std::string(ref->name) + " held here matches " + spec, req, ex), true;
    ex.reply = redirect(prefix, *ref, *version, req);
    ex.log.note = "npm: " + spec + " is " + *version;
    return true;
}

}  // namespace modelhost::http
