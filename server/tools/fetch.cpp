// Download into a hidden work folder under the root, verify every shard against the manifest, then rename into
// place: a failed or interrupted fetch leaves no partial model and never replaces a good one. A fetch cut off by the
// network (or killed) keeps its bytes in the work folder, and the next run of the same command continues from them.
#include "tools/fetch.hpp"

#include "tools/fetch_download.hpp"
#include "tools/fetch_hf.hpp"
#include "tools/fetch_npm.hpp"

#include "base/args.hpp"
#include "fs/durable.hpp"
#include "http/mime.hpp"
#include "models/catalog.hpp"
#include "models/manifest.hpp"
#include "client/http_client.hpp"

#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace modelhost::tools {

using namespace client;  // the HTTP client (client/http_client.hpp) the tools share with mirrors

namespace fsys = std::filesystem;

namespace {

struct Options {
    std::string url, root = "models", name, ca_file;
    bool force = false;
    unsigned concurrency = 4;
    double timeout = 1800;  // seconds for the whole fetch (--timeout); each socket wait is bounded by 15 s besides
};

// A shard whose size the manifest cannot bound (string weights, unknown dtypes) may still not exceed this.
constexpr std::uint64_t max_unbounded_shard_bytes = 4ull << 30;

// The work folder is another running fetch's: left as it is.
struct InUse : FetchError {
    using FetchError::FetchError;
};

// "1", "v3", "2.1.0", "v1.2": a segment that names a version rather than a model.
bool is_version(const std::string& segment) {
    std::size_t start = segment.starts_with('v') || segment.starts_with('V') ? 1 : 0;
    if (start == segment.size() || !std::isdigit(static_cast<unsigned char>(segment[start]))) return false;
    return segment.find_first_not_of("0123456789.", start) == std::string::npos && !segment.ends_with('.');
}

}  // namespace

std::string default_name(const std::string& model_url) {
    auto path = model_url.substr(0, model_url.find_first_of("?#"));
    std::vector<std::string> parts;
    for (std::size_t pos = path.find("://") + 3; pos < path.size();) {
        auto slash = path.find('/', pos);
        parts.push_back(path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
        pos = slash == std::string::npos ? path.size() : slash + 1;
    }
    if (!parts.empty()) parts.erase(parts.begin());  // the host
    while (!parts.empty() && (parts.back().empty() || parts.back().ends_with(".json"))) parts.pop_back();
    std::string versions;
    while (!parts.empty() && is_version(parts.back())) {
        versions = "/" + parts.back() + versions;
        parts.pop_back();
    }
    if (parts.empty() || parts.back().empty() || parts.back().starts_with('.')) return "model" + versions;
    return parts.back() + versions;
}

namespace {

bool valid_name(const std::string& name) {
    if (name.empty() || name.front() == '/' || name.back() == '/') return false;
    for (std::size_t pos = 0; pos <= name.size();) {
        auto slash = name.find('/', pos);
        std::string seg = name.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
        if (seg.empty() || seg.front() == '.' || seg.find_first_of("\\\0", 0, 2) != std::string::npos) return false;
        if (slash == std::string::npos) break;
        pos = slash + 1;
    }
    return true;
}

// Moves the verified folder into place; with --force the old model is replaced only now, when the new one is whole.
// Its subfolders (shard paths may have them) are synced first, so the names renamed into them are on disk too;
// fs::install syncs the folder itself.
void install(const fsys::path& tmp, const fsys::path& dest, bool force) {
    for (const auto& e : fsys::recursive_directory_iterator(tmp))
        if (e.is_directory()) fs::sync_folder(e.path());
    fsys::create_directories(dest.parent_path());
    if (fsys::exists(dest)) {
        if (!force) throw FetchError(dest.string() + " already exists; pass --force to replace it");
        std::string hidden(1, '.');  // appended piece by piece: "." + string is GCC 12's -Wrestrict false positive at -O3
        hidden.append(dest.filename().string()).append(".replaced-").append(std::to_string(::getpid()));
        fsys::path old = dest.parent_path() / hidden;
        fsys::rename(dest, old);
        try {
            fs::install(tmp, dest);
        } catch (...) {  // not renamed into place (a sync failed): the old model goes back, never lost
            std::error_code ec;
            if (!fsys::exists(dest, ec)) fsys::rename(old, dest, ec);  // (failing that, it stays under its hidden name)
            else fsys::remove_all(old, ec);                              // the new one is in place, not yet durable
            throw;
        }
        fsys::remove_all(old);
        return;
    }
    fs::install(tmp, dest);
}

// The folder a fetch of `name` works in: the same for every run, so an interrupted fetch continues where it stopped.
// Hidden (the server never serves it); '/' and '%' in the name are escaped so each name has its own folder.
fsys::path work_folder(const fsys::path& root, const std::string& name) {
    std::string escaped;
    for (char c : name) escaped += c == '/' ? "%2F" : c == '%' ? "%25" : std::string(1, c);
    return root / (".fetch-partial-" + escaped);
}

// Takes the work folder for this process (an exclusive flock held until exit: two fetches of one name at once would
// write the same files) and empties it unless what it holds came from `source` (Source::id). `locked` is set once the lock is
// held: only then may a failure remove the folder.
void claim_work_folder(const fsys::path& tmp, const std::string& source, bool& locked) {
    fsys::create_directories(tmp);
    int fd = ::open((tmp / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + (tmp / ".lock").string());
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        throw InUse(tmp.string() + " is in use by another modelhost fetch of the same name; wait for it to finish");
    locked = true;
    // The descriptor stays open (and the lock held) for the rest of the process.
    if (read_text(tmp / ".source") == source) return;
    for (const auto& e : fsys::directory_iterator(tmp))
        if (e.path().filename() != ".lock") fsys::remove_all(e.path());
    write_text(tmp / ".source", source);
}

// The bytes a work folder holds that a later run can use: whole files, and parts with a validator to resume them by.
std::uint64_t bytes_kept(const fsys::path& tmp) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (auto it = fsys::recursive_directory_iterator(tmp, ec); !ec && it != fsys::recursive_directory_iterator(); it.increment(ec)) {
        auto name = it->path().filename().string();
        if (!it->is_regular_file(ec) || name == ".lock" || name == ".source" || name.ends_with(".part-validator")) continue;
        if (name.ends_with(".part") && read_text(it->path().string() + "-validator").empty()) continue;
        total += it->file_size(ec);
    }
    return total;
}

// Fetches model.json afresh each run: the bytes kept from an earlier run are used only when it is unchanged.
models::Manifest fetch_manifest(const std::string& model_url, const fsys::path& tmp, const ClientOptions& client) {
    const fsys::path fresh = tmp / ".model.json.new", kept = tmp / "model.json";
    fsys::remove(fresh);
    download(model_url, fresh, models::max_manifest_bytes, client);
    if (fsys::exists(kept) && read_text(kept) != read_text(fresh)) {
        std::printf("the manifest changed since the interrupted fetch; starting over\n");
        for (const auto& e : fsys::directory_iterator(tmp))
            if (e.path() != fresh && e.path().filename() != ".lock" && e.path().filename() != ".source") fsys::remove_all(e.path());
    }
    fs::install_in_work_folder(fresh, kept);
    auto doc = models::read_manifest(read_text(kept));
    if (!doc.ok()) throw FetchError(model_url + ": not a TF.js model.json (" + doc.error + ")");
    return doc;
}

// The shards a manifest names, each checked before anything is opened, with the bytes its group declares. The model
// URL's query (it may carry a token) goes only to shards on the model's own origin.
std::vector<FetchFile> shards_of(const models::Manifest& doc, const std::string& model_url) {
    std::vector<FetchFile> out;
    for (const auto& g : doc.groups) {
        if (!g.has_paths) throw FetchError(model_url + ": " + g.entry + ": has no \"paths\" array");
        for (const auto& p : g.paths) {
            if (!p.is_string) throw FetchError(model_url + ": " + p.entry + ": a shard path is not a string: " + p.shown);
            if (auto why = unsafe_shard_path(p.path); !why.empty())
                throw FetchError(model_url + ": " + p.entry + ": refusing shard path \"" + p.path + "\": " + why +
                                 "; nothing was written");
            if (p.repeated) throw FetchError(model_url + ": " + p.entry + ": shard path \"" + p.path + "\" is listed twice");
            auto url = shard_url(model_url, p.path);
            if (!url) throw FetchError(p.path + ": cannot be resolved against " + model_url);
            out.push_back({p.path, *url, g.declared_bytes.value_or(max_unbounded_shard_bytes)});
        }
    }
    return out;
}

ClientOptions client_of(const Options& o) {
    ClientOptions client;
    client.ca_file = o.ca_file;
    client.user_agent = "modelhost-fetch";
    client.deadline = deadline_after(o.timeout);
    return client;
}

// A TF.js model: its model.json, then every shard it names, checked against the bytes each group declares.
Source tfjs_source(const Options& o) {
    const std::string model_url = model_json_url(o.url);
    Source s{model_url, default_name(model_url), "model.json", {}};
    s.fill = [o, model_url](const fsys::path& tmp) {
        const ClientOptions client = client_of(o);
        std::printf("fetching %s\n", model_url.c_str());
        auto doc = fetch_manifest(model_url, tmp, client);
        download_files(shards_of(doc, model_url), tmp, o.concurrency, client);
        models::ModelEntry check = models::check_model(tmp, "model.json");
        if (!check.ok()) throw FetchError("the downloaded model is broken, nothing installed: " + check.problems.front());
        return std::to_string(check.files.size()) + " files, " + std::to_string(check.total_bytes) + " bytes";
    };
    return s;
}

// Fills the work folder from `source`, then installs it; the bookkeeping files go before the install.
void download_and_install(const Options& o, const Source& source, const fsys::path& tmp, const fsys::path& dest) {
    const std::string held = source.fill(tmp);
    fsys::remove(tmp / ".source");
    install(tmp, dest, o.force);
    // The lock goes with the folder, held until it is in place: another fetch of the name never takes the folder
    // while it is checked and installed. (Hidden, so never served, should a crash leave it there.)
    std::error_code ec;
    fsys::remove(dest / ".lock", ec);
    std::printf("installed %s: %s -> %s\n", dest.lexically_relative(o.root).c_str(), held.c_str(),
                (source.entry.empty() ? dest : dest / source.entry).c_str());
}

void fetch(const Options& o, const Source& source) {
    std::string name = o.name.empty() ? source.name : o.name;
    if (!valid_name(name)) throw FetchError("--name \"" + name + "\" must be a relative folder name without hidden parts");
    fsys::path root(o.root), dest = fsys::path(o.root) / name;
    std::error_code ec;
    if (!fsys::exists(root, ec)) {
        if (!fsys::create_directories(root, ec) && ec)
            throw FetchError("--root \"" + o.root + "\" does not exist and cannot be created: " + ec.message());
        std::printf("created --root %s\n", o.root.c_str());
    }
    if (!fsys::is_directory(root, ec)) throw FetchError("--root \"" + o.root + "\" is not a directory");
    if (fsys::exists(dest) && !o.force) throw FetchError(dest.string() + " already exists; pass --force to replace it");
    const fsys::path tmp = work_folder(root, name);
    bool locked = false;  // the folder is this process's: a failure may remove it
    // What a failure leaves: the bytes kept for the next run when `resumable` and there are any, else nothing.
    auto fail = [&](const std::string& what, bool resumable) {
        if (!locked) throw FetchError(what);
        const std::uint64_t kept = resumable ? bytes_kept(tmp) : 0;
        if (kept == 0) {
            fsys::remove_all(tmp, ec);
            throw FetchError(what);
        }
        throw FetchError(what + "\nthe " + std::to_string(kept) + " bytes downloaded so far are kept in " + tmp.string() +
                         ": run the same command again to continue (or delete that folder to start over)");
    };
    try {
        claim_work_folder(tmp, source.id, locked);
        download_and_install(o, source, tmp, dest);
    } catch (const InUse&) {
        throw;
    } catch (const FetchError& e) {
        fail(e.what(), e.resumable);
    } catch (const std::system_error& e) {  // a file in the work folder that cannot be written, synced or renamed
        const int error = e.code().value();  // a full disk keeps what it has; an I/O error leaves nothing it may have hit
        fail(e.what() + fs::advice(error), error == ENOSPC || error == EDQUOT);
    } catch (...) {
        if (locked) fsys::remove_all(tmp, ec);
        throw;
    }
}

}  // namespace

std::string unsafe_shard_path(std::string_view raw) {
    if (auto why = models::unsafe_shard_path(raw); !why.empty()) return why;
    auto type = http::mime_type(boost::urls::make_pct_string_view(raw)->decode());  // well-formed: checked above
    if (http::is_active_content(type)) return "would be served as active content (" + std::string(type) + ")";
    return {};
}

std::string model_json_url(const std::string& url) {
    std::string path = url.substr(0, url.find('?'));
    if (path.ends_with(".json")) return url;
    while (path.ends_with('/')) path.pop_back();
    return path + "/model.json?tfjs-format=file";
}

namespace {

void print_help() {
    std::printf("Usage: modelhost fetch URL [--root DIR] [--name NAME] [--force] [--ca-file PEM] [--concurrency N] [--timeout S]\n"
                "       modelhost fetch hf:ORG/NAME[@REV] [--include GLOB]... [--exclude GLOB]... [--endpoint URL] [same options]\n"
                "       modelhost fetch npm:PACKAGE[@VERSION] [--include GLOB]... [--exclude GLOB]... [--registry URL] [same options]\n\n"
                "Mirrors a TF.js model into DIR/NAME (DIR default models, created when missing; NAME default the URL's\n"
                "last folder with any version folders after it: .../face_mesh/v3/model.json -> face_mesh/v3): a model.json URL, or a\n"
                "tfhub-style model URL (https://tfhub.dev/mediapipe/tfjs-model/face_landmarks_detection/face_mesh/1 ->\n"
                "its model.json?tfjs-format=file). Follows up to 10 redirects, downloads every shard (4 at a time),\n"
                "retries transient failures, checks every shard against the manifest, and renames the folder into\n"
                "place only when complete: a failed fetch installs nothing, and an existing model is replaced only\n"
                "with --force and only by a complete one. HTTPS is verified (system CAs, plus --ca-file).\n\n"
                "A fetch cut off by the network, the time limit, a kill or a full disk keeps what it downloaded in the hidden\n"
                "DIR/.fetch-partial-NAME; the same command run again continues from there (Range + If-Range, so a\n"
                "file that changed meanwhile is fetched whole; a changed model.json starts over). Delete that folder\n"
                "to start over by hand. Two fetches of one NAME at once are refused.\n\n"
                "The remote is treated as hostile: shard paths must be plain relative names (no absolute, \"..\",\n"
                "hidden, backslash or encoded escapes; no HTML, SVG, JS or XML files), each shard may hold at most\n"
                "the bytes its group declares, redirects may not go from https to http, the model URL's query is\n"
                "sent only to its own origin, and the whole fetch ends after --timeout seconds (default 1800;\n"
                "each socket wait at most 15 s). Nothing is written outside the hidden work folder, and a refused or broken\n"
                "download deletes it.\n\n"
                "hf:ORG/NAME[@REV] (or https://huggingface.co/ORG/NAME[/tree/REV]) fetches a Hugging Face model repository\n"
                "into DIR/ORG/NAME (REV default main): the file list from the hub's revision API, only the files matching\n"
                "an --include glob (all when none; '*' matches across '/', as in huggingface_hub) and no --exclude glob,\n"
                "each from /resolve/COMMIT/ (redirects to the hub's CDN followed) and checked against the size, the LFS\n"
                "SHA-256 or the git blob id the API lists before anything is installed. The commit is recorded beside the\n"
                "files, so `serve` answers /ORG/NAME/resolve/COMMIT/ and X-Repo-Commit as the hub does. The hub is\n"
                "HF_ENDPOINT (or --endpoint; default https://huggingface.co); HF_TOKEN, when set, is sent as a Bearer token\n"
                "to that origin only, never to a CDN a redirect leads to. A sibling path with \"..\", a backslash or an\n"
                "escape ends the fetch with nothing written; hidden files (.gitattributes) and HTML/JS/SVG/XML are skipped.\n\n"
                "npm:PACKAGE[@VERSION] (or an npm-CDN URL, https://cdn.jsdelivr.net/npm/PACKAGE@VERSION[/PATH]) fetches an\n"
                "npm package into DIR/npm/PACKAGE@VERSION, the npm-CDN layout `serve` answers (/npm/PACKAGE@VERSION/PATH):\n"
                "VERSION an exact version, a tag or a range (default latest), resolved by the package's document from\n"
                "--registry (else $npm_config_registry, else https://registry.npmjs.org/). The tarball must be on the\n"
                "registry's origin and match the document's sha512 integrity; it is unpacked with its package/ folder\n"
                "stripped, keeping the files an --include glob matches (all when none; a URL's PATH keeps only it) and\n"
                "no --exclude glob, HTML and SVG skipped. A tarball with an absolute or \"..\" path, a link, a device, a\n"
                "hidden or duplicate name, too many or too large entries, or more bytes than declared is refused, the entry\n"
                "named, and nothing is installed.\n\n"
                "Exit codes: 0 installed, 1 the fetch failed (nothing changed), 2 bad usage.\n");
}

}  // namespace

int fetch_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("fetch", args, {{"--root", true}, {"--name", true}, {"--ca-file", true}, {"--concurrency", true},
                                                   {"--timeout", true}, {"--force", false}, {"--include", true},
                                                   {"--exclude", true}, {"--endpoint", true}, {"--registry", true}}, 1);
    if (!parsed.error.empty()) return usage_error("fetch", parsed.error);
    if (parsed.help) {
        print_help();
        return 0;
    }
    Options o;
    o.url = parsed.positionals.empty() ? "" : parsed.positionals[0];
    o.root = parsed.value("--root").value_or(o.root);
    o.name = parsed.value("--name").value_or("");
    o.ca_file = parsed.value("--ca-file").value_or("");
    o.force = parsed.has("--force");
    if (auto v = parsed.value("--concurrency")) {
        int n = v->find_first_not_of("0123456789") == std::string::npos && v->size() < 4 ? std::atoi(v->c_str()) : 0;
        if (n < 1 || n > 64) return usage_error("fetch", "--concurrency must be a whole number from 1 to 64, got \"" + *v + "\"");
        o.concurrency = static_cast<unsigned>(n);
    }
    if (auto v = parsed.value("--timeout")) {
        char* end = nullptr;
        o.timeout = std::strtod(v->c_str(), &end);
        if (v->empty() || *end != '\0' || !(o.timeout > 0 && o.timeout <= 86400))
            return usage_error("fetch", "--timeout must be seconds above 0 and at most 86400, got \"" + *v + "\"");
    }
    const char* env_endpoint = std::getenv("HF_ENDPOINT");
    std::string endpoint = parsed.value("--endpoint").value_or(env_endpoint ? env_endpoint : "");
    const char* env_registry = std::getenv("npm_config_registry");
    std::string registry = parsed.value("--registry").value_or(env_registry ? env_registry : "");
    std::string spec_error;
    std::optional<NpmSpec> npm = parse_npm_spec(o.url, registry, spec_error);
    std::optional<HfSpec> hf = npm ? std::nullopt : parse_hf_spec(o.url, endpoint, spec_error);
    if (!spec_error.empty()) return usage_error("fetch", spec_error);
    if (!hf && !npm && (parsed.has("--include") || parsed.has("--exclude")))
        return usage_error("fetch", "--include and --exclude are for hf: and npm: fetches; a TF.js model fetches every shard");
    if (!hf && !npm && (o.url.empty() || !parse_http_url(model_json_url(o.url))))
        return std::fprintf(stderr, "modelhost fetch: URL must be an http:// or https:// model URL, hf:ORG/NAME or npm:PACKAGE; see --help\n"), 2;
    try {
        if (npm) {
            for (auto g : parsed.values("--include")) npm->include.push_back(std::move(g));
            npm->exclude = parsed.values("--exclude");
            fetch(o, npm_source(*npm, client_of(o)));
        } else if (hf) {
            hf->include = parsed.values("--include");
            hf->exclude = parsed.values("--exclude");
            if (const char* token = std::getenv("HF_TOKEN")) hf->token = token;
            fetch(o, huggingface_source(*hf, client_of(o), o.concurrency));
        } else {
            fetch(o, tfjs_source(o));
        }
        return 0;
    } catch (const std::system_error& e) {  // a file under --root that cannot be made, written, synced or renamed
        std::fprintf(stderr, "modelhost fetch: %s%s\n", e.what(), fs::advice(e.code().value()).c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "modelhost fetch: %s\n", e.what());
        return 1;
    }
}

}  // namespace modelhost::tools
