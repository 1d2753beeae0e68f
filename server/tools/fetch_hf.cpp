// The hub's revision API read as hostile input, then the shared fetch (tools/fetch_download.hpp) with the hub's
// resolve URLs; every file verified before the install (https://huggingface.co/docs/hub/en/api).
#include "tools/fetch_hf.hpp"

#include "fs/digest.hpp"
#include "fs/repo.hpp"
#include "http/mime.hpp"
#include "models/hf_revision.hpp"
#include "models/loaders.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelhost::tools {

using namespace client;
namespace fsys = std::filesystem;
using json = nlohmann::json;

namespace {

// The hub's repo ids: one or two segments of letters, digits, '-', '_' and '.', none starting with '.' or '-'.
bool valid_repo_id(std::string_view id) {
    int segments = 0;
    for (std::size_t at = 0; at <= id.size(); ++segments) {
        std::size_t end = std::min(id.find('/', at), id.size());
        std::string_view seg = id.substr(at, end - at);
        if (seg.empty() || seg.size() > 96 || seg.front() == '.' || seg.front() == '-' ||
            !std::all_of(seg.begin(), seg.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }))
            return false;
        at = end + 1;
    }
    return segments <= 2;
}

// RFC 3986 unreserved characters kept, everything else escaped (encodeURIComponent's set, '/' included).
std::string encode_component(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out.push_back(static_cast<char>(c));
        else out += '%', out += "0123456789ABCDEF"[c >> 4], out += "0123456789ABCDEF"[c & 15];
    }
    return out;
}

// The revision's JSON, through the hub's redirects; the hub's error codes as advice.
std::string revision_json(const HfSpec& spec, const ClientOptions& client) {
    const std::string url = spec.endpoint + "/api/models/" + spec.repo + "/revision/" + encode_component(spec.revision) + "?blobs=true";
    std::printf("asking %s\n", url.c_str());
    HttpResponse r;
    try {
        r = follow_redirects(url, [&](const HttpUrl& u) { return http_request(u, "GET", {{"Accept", "application/json"}}, true, client); });
    } catch (const RedirectRefused& e) {
        throw FetchError(e.what());
    } catch (const HttpError& e) {
        throw FetchError(e.what(), true);
    }
    if (r.status == 200) return r.body;
    const auto code = r.all("X-Error-Code");
    std::string why = code.empty() ? "" : " (" + code[0] + ")";
    if (r.status == 401 || r.status == 403)
        why += spec.token.empty() ? ": gated or private; set HF_TOKEN" : ": HF_TOKEN is not allowed to read it";
    else if (!code.empty() && code[0] == "RevisionNotFound") why += ": no revision \"" + spec.revision + "\"";
    else if (r.status == 404) why += ": no such model on " + spec.endpoint;
    throw FetchError(url + ": HTTP " + std::to_string(r.status) + why, r.status >= 500);
}

// Each file's bytes against the hub's listing: its size, then its SHA-256 (LFS) or git blob id.
void verify(const fsys::path& tmp, const HfRevision& rev, const std::string& where) {
    for (const auto& f : rev.files) {
        const fsys::path file = tmp / f.path;
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st {};
        if (fd < 0 || ::fstat(fd, &st) != 0) {
            if (fd >= 0) ::close(fd);
            throw FetchError(where + ": " + f.path + ": cannot be read back after its download");
        }
        std::optional<std::string> got;
        const char* what = f.sha256.empty() ? "git blob id" : "SHA-256";
        if (static_cast<std::uint64_t>(st.st_size) == f.size)
            got = f.sha256.empty() ? (f.blob_id.empty() ? std::optional<std::string>("") : fs::git_blob_id(fd, f.size))
                                   : fs::digest_file(fs::Digest::sha256, fd, 0, f.size);
        ::close(fd);
        if (static_cast<std::uint64_t>(st.st_size) != f.size)
            throw FetchError(where + ": " + f.path + ": " + std::to_string(st.st_size) + " bytes, the hub lists " + std::to_string(f.size) +
                             "; nothing was installed");
        const std::string& want = f.sha256.empty() ? f.blob_id : f.sha256;
        if (!got || *got != want)
            throw FetchError(where + ": " + f.path + ": " + what + " " + got.value_or("(unreadable)") + " does not match the hub's " + want +
                             "; nothing was installed");
    }
}

// The commit, and each LFS file's SHA-256 with the size and mtime it holds for (fs/repo.hpp reads them back).
void record(const fsys::path& tmp, const HfRevision& rev, const HfSpec& spec) {
    json files = json::object();
    for (const auto& f : rev.files) {
        if (f.sha256.empty()) continue;
        struct stat st {};
        if (::stat((tmp / f.path).c_str(), &st) != 0) continue;
        const auto ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
        files[f.path] = {{"size", f.size}, {"mtime_ns", ns}, {"sha256", f.sha256}};
    }
    json doc{{"commit", rev.commit}, {"revision", spec.revision}, {"endpoint", spec.endpoint}, {"repo", spec.repo}, {"files", files}};
    write_text(tmp / std::string(fs::commit_record_name), doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace

std::optional<HfSpec> parse_hf_spec(const std::string& arg, const std::string& endpoint, std::string& error) {
    HfSpec spec;
    if (!endpoint.empty()) spec.endpoint = endpoint;
    while (spec.endpoint.ends_with('/')) spec.endpoint.pop_back();
    std::string rest;
    if (arg.starts_with("hf:")) {
        rest = arg.substr(3);
        if (auto at = rest.find('@'); at != std::string::npos) {
            spec.revision = rest.substr(at + 1);
            rest.resize(at);
        }
    } else if (arg.starts_with("https://huggingface.co/")) {
        rest = arg.substr(std::string_view("https://huggingface.co/").size());
        rest = rest.substr(0, rest.find_first_of("?#"));
        // A file's URL (a TF.js model.json under resolve/ or blob/) is fetched as that file, not as a repository.
        if (rest.find("/resolve/") != std::string::npos || rest.find("/blob/") != std::string::npos || rest.ends_with(".json"))
            return std::nullopt;
        if (auto tree = rest.find("/tree/"); tree != std::string::npos) {
            spec.revision = rest.substr(tree + 6);
            rest.resize(tree);
        }
        while (rest.ends_with('/')) rest.pop_back();
        if (endpoint.empty()) spec.endpoint = "https://huggingface.co";
    } else {
        return std::nullopt;
    }
    if (!valid_repo_id(rest)) error = "\"" + rest + "\" is not a Hugging Face model id (ORG/NAME or NAME)";
    else if (spec.revision.empty() || std::any_of(spec.revision.begin(), spec.revision.end(), [](unsigned char c) { return c < 0x21 || c == 0x7f; }))
        error = "revision \"" + spec.revision + "\" is empty or holds spaces or control characters";
    else if (!parse_http_url(spec.endpoint + "/")) error = "endpoint \"" + spec.endpoint + "\" is not an http:// or https:// URL";
    spec.repo = rest;
    return spec;
}

HfRevision read_hf_revision(std::string_view text, const HfSpec& spec, const std::string& where) {
    const models::HfRevision doc = models::read_hf_revision(text);
    if (!doc.ok()) throw FetchError(where + ": " + doc.error + "; nothing was written");
    HfRevision rev;
    rev.commit = doc.commit;
    rev.skipped = doc.skipped;
    for (const auto& f : doc.files) {
        if (http::is_active_content(http::mime_type(f.path))) rev.skipped.push_back(f.path + " (active content)");
        else if (selected(spec.include, spec.exclude, f.path)) rev.files.push_back({f.path, f.size, f.sha256, f.blob_id});
    }
    if (rev.files.empty())
        throw FetchError(where + ": no file of the " + std::to_string(doc.listed) + " listed matches --include/--exclude");
    return rev;
}

Source huggingface_source(const HfSpec& spec, const ClientOptions& base, unsigned concurrency) {
    ClientOptions client = base;
    if (!spec.token.empty()) {
        client.credential_headers = {{"Authorization", "Bearer " + spec.token}};
        client.credential_origin = origin_of(spec.endpoint + "/");
    }
    const std::string where = spec.repo + "@" + spec.revision;
    HfRevision rev = read_hf_revision(revision_json(spec, client), spec, where);
    std::string globs;
    for (const auto& g : spec.include) globs += " +" + g;
    for (const auto& g : spec.exclude) globs += " -" + g;
    Source s{"huggingface " + spec.endpoint + "/" + spec.repo + "@" + rev.commit + globs, spec.repo, "", {}};
    s.fill = [spec, client, concurrency, rev, where](const fsys::path& tmp) {
        std::printf("%s is commit %s: %zu file(s) to fetch\n", where.c_str(), rev.commit.c_str(), rev.files.size());
        for (const auto& skipped : rev.skipped) std::printf("skipping %s\n", skipped.c_str());
        std::vector<FetchFile> files;
        std::uint64_t bytes = 0;
        for (const auto& f : rev.files) {
            files.push_back({f.path, spec.endpoint + "/" + spec.repo + "/resolve/" + rev.commit + "/" + models::percent_encoded(f.path), f.size});
            bytes += f.size;
        }
        download_files(files, tmp, concurrency, client);
        verify(tmp, rev, where);
        record(tmp, rev, spec);
        return std::to_string(files.size()) + " files, " + std::to_string(bytes) + " bytes, verified, commit " + rev.commit;
    };
    return s;
}

}  // namespace modelhost::tools
