// The registry's document read as hostile input, then the tarball through the shared download (resumable), checked
// and unpacked (mirror/npm_install.hpp); the work folder installed by fetch.cpp.
#include "tools/fetch_npm.hpp"

#include "fs/tarball.hpp"
#include "http/mime.hpp"
#include "mirror/npm_install.hpp"

#include <boost/url/parse.hpp>

#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::tools {

using namespace client;
namespace fsys = std::filesystem;

namespace {

// What npm itself sends: the abbreviated document when the registry has it (smaller: no READMEs), else the full one.
constexpr const char* npm_accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

bool plain_spec(std::string_view spec) {
    return !spec.empty() && spec.size() <= 256 &&
           std::none_of(spec.begin(), spec.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f || c == '/'; });
}

models::NpmDocument fetch_document(const NpmSpec& spec, const ClientOptions& client) {
    const std::string url = mirror::npm_document_url(spec.registry, spec.name);
    std::printf("asking %s\n", url.c_str());
    HttpResponse r;
    try {
        r = follow_redirects(url, [&](const HttpUrl& u) { return http_request(u, "GET", {{"Accept", npm_accept}}, true, client); });
    } catch (const RedirectRefused& e) {
        throw FetchError(e.what());
    } catch (const HttpError& e) {
        throw FetchError(e.what(), true);
    }
    if (r.status == 404) throw FetchError(url + ": HTTP 404: no package \"" + spec.name + "\" on " + spec.registry);
    if (r.status != 200) throw FetchError(url + ": HTTP " + std::to_string(r.status), r.status >= 500);
    models::NpmDocument doc = models::read_npm_document(r.body, spec.name);
    if (!doc.ok()) throw FetchError(url + ": " + doc.error + "; nothing was written");
    return doc;
}

std::string exact_version(const NpmSpec& spec, const models::NpmDocument& doc) {
    if (auto v = models::resolve_npm_version(spec.version, doc.version_names(), doc.tags)) return *v;
    const std::string what = spec.name + "@" + spec.version;
    if (std::find(doc.unverifiable.begin(), doc.unverifiable.end(), spec.version) != doc.unverifiable.end())
        throw FetchError(what + ": the registry lists no sha512 integrity for it, so it cannot be verified; refusing");
    auto tag = doc.tags.find(spec.version);
    if (tag != doc.tags.end()) throw FetchError(what + ": the tag names " + tag->second + ", which the registry does not list with a sha512 integrity");
    throw FetchError(what + ": no version of the " + std::to_string(doc.versions.size()) + " the registry lists matches");
}

// The tarball in the work folder, checked, unpacked beside it; the tarball removed once the files are there.
std::string unpack(const fsys::path& tmp, const fsys::path& tarball, const NpmSpec& spec, const std::string& exact,
                   const models::NpmVersion& version) {
    const std::string where = spec.name + "@" + exact;
    for (const auto& e : fsys::directory_iterator(tmp))  // files an interrupted unpack left
        if (!e.path().filename().string().starts_with('.')) fsys::remove_all(e.path());
    const int fd = ::open(tarball.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        throw FetchError(where + ": the tarball cannot be read back after its download");
    }
    std::vector<std::string> kept, skipped;
    try {
        if (auto bad = mirror::integrity_mismatch(fd, static_cast<std::uint64_t>(st.st_size), version.integrity); !bad.empty())
            throw FetchError(where + ": " + bad + "; nothing was installed");
        kept = mirror::unpack_npm_version(fd, tmp, version, spec.name, exact, [&](std::string_view path) {
            if (http::is_active_markup(http::mime_type(path))) return skipped.emplace_back(path), false;
            return selected(spec.include, spec.exclude, std::string(path));
        });
    } catch (const fs::TarballError& e) {
        ::close(fd);
        throw FetchError(where + ": refusing the tarball: " + e.what() + "; nothing was installed");
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    fsys::remove(tarball);
    for (const auto& s : skipped) std::printf("skipping %s (active content)\n", s.c_str());
    if (kept.empty()) throw FetchError(where + ": no file of the package matches --include/--exclude");
    std::uint64_t bytes = 0;
    for (const auto& k : kept) bytes += fsys::file_size(tmp / k);
    return std::to_string(kept.size()) + " files, " + std::to_string(bytes) + " bytes, integrity verified";
}

}  // namespace

std::optional<NpmSpec> parse_npm_spec(const std::string& arg, const std::string& registry, std::string& error) {
    NpmSpec spec;
    if (!registry.empty()) spec.registry = registry.ends_with('/') ? registry : registry + "/";
    std::string ref;
    const bool cdn_url = !arg.starts_with("npm:");
    if (!cdn_url) {
        ref = arg.substr(4);
    } else {
        auto url = boost::urls::parse_uri(arg);
        if (!url || (url->scheme_id() != boost::urls::scheme::http && url->scheme_id() != boost::urls::scheme::https)) return std::nullopt;
        const std::string path = url->path();  // decoded
        if (!path.starts_with("/npm/") || path.ends_with(".json")) return std::nullopt;  // (a TF.js model.json on a CDN)
        ref = path.substr(5);
    }
    const auto parts = models::split_npm_ref(ref);
    if (!parts) {
        error = "\"" + ref + "\" is not an npm package (NAME[@VERSION] or @SCOPE/NAME[@VERSION])";
        return spec;
    }
    if (parts->has_path && !cdn_url) error = "npm:" + ref + ": name a package and a version, not a path; use --include for files";
    spec.name = parts->name;
    if (parts->has_spec) spec.version = parts->spec;
    if (!plain_spec(spec.version)) error = "version \"" + spec.version + "\" is empty or holds spaces, '/' or control characters";
    if (!parse_http_url(spec.registry)) error = "registry \"" + spec.registry + "\" is not an http:// or https:// URL";
    if (cdn_url && !parts->path.empty()) {  // the URL's file, or the files under its folder
        std::string glob;
        for (char c : parts->path) glob += c == '*' || c == '?' || c == '[' || c == '\\' ? std::string("\\") + c : std::string(1, c);
        spec.include.push_back(glob.ends_with('/') ? glob + "*" : glob);
    }
    return spec;
}

Source npm_source(const NpmSpec& spec, const ClientOptions& client) {
    const models::NpmDocument doc = fetch_document(spec, client);
    const std::string exact = exact_version(spec, doc);
    const models::NpmVersion version = doc.versions.at(exact);
    if (auto why = mirror::foreign_tarball(version.tarball, spec.registry); !why.empty())
        throw FetchError(spec.name + "@" + exact + ": " + why + "; nothing was written");
    std::string globs;
    for (const auto& g : spec.include) globs += " +" + g;
    for (const auto& g : spec.exclude) globs += " -" + g;
    Source s{"npm " + spec.registry + " " + spec.name + "@" + exact + " " + version.integrity + globs, "npm/" + spec.name + "@" + exact, "", {}};
    s.fill = [spec, client, exact, version](const fsys::path& tmp) {
        std::printf("%s@%s is version %s: %s\n", spec.name.c_str(), spec.version.c_str(), exact.c_str(), version.tarball.c_str());
        const fsys::path tarball = tmp / ".package.tgz";
        download(version.tarball, tarball, models::max_npm_tarball_bytes, client);
        return unpack(tmp, tarball, spec, exact, version);
    };
    return s;
}

}  // namespace modelhost::tools
