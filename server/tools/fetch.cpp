// Download into a hidden temporary folder under the root, verify every shard against the manifest, then rename
// into place: a failed or interrupted fetch leaves no partial model and never replaces a good one.
#include "tools/fetch.hpp"

#include "base/args.hpp"
#include "http/mime.hpp"
#include "base/text.hpp"
#include "models/catalog.hpp"
#include "tools/http_client.hpp"

#include <boost/url/pct_string_view.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace modelhost::tools {

namespace fsys = std::filesystem;

namespace {

struct Options {
    std::string url, root = "models", name, ca_file;
    bool force = false;
    unsigned concurrency = 4;
    double timeout = 1800;  // seconds for the whole fetch (--timeout); each socket wait is bounded by 15 s besides
};

constexpr std::uint64_t max_manifest_bytes = 64u << 20;
// A shard whose size the manifest cannot bound (string weights, unknown dtypes) may still not exceed this.
constexpr std::uint64_t max_unbounded_shard_bytes = 4ull << 30;

// The scheme, host and port of an absolute URL ("https://a.example:443"), for same-origin decisions.
std::string origin_of(const std::string& url) {
    auto u = parse_http_url(url);
    return u ? (u->tls ? "https://" : "http://") + to_lower(u->host) + ":" + u->port : std::string();
}

// A failure that ends the fetch; the message is printed as is.
struct FetchError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// GET into `file` (at most `max_bytes`), following up to 10 redirects (never from https to http) and retrying
// transient failures (network, 5xx) with backoff.
void download(std::string url, const fsys::path& file, std::uint64_t max_bytes, const ClientOptions& client) {
    for (int attempt = 1;; ++attempt) {
        try {
            std::string current = url;
            for (int hop = 0;; ++hop) {
                auto parsed = parse_http_url(current);
                if (!parsed) throw FetchError(current + ": not an http:// or https:// URL");
                HttpResponse r = http_download(*parsed, file.string(), max_bytes, client);
                if (auto next = redirect_target(r, current)) {
                    if (hop == 10) throw FetchError(url + ": more than 10 redirects");
                    if (current.starts_with("https:") && !next->starts_with("https:"))
                        throw FetchError(current + ": redirects to " + *next + ", from https to plain http; refused");
                    current = *next;
                    continue;
                }
                if (r.status >= 500) throw HttpError(current + ": HTTP " + std::to_string(r.status));
                if (r.status != 200) throw FetchError(current + ": HTTP " + std::to_string(r.status));
                return;
            }
        } catch (const BodyTooLarge& e) {
            throw FetchError(e.what());
        } catch (const HttpError& e) {
            if (attempt == 3) throw FetchError(std::string(e.what()) + " (after 3 attempts)");
            std::this_thread::sleep_for(std::chrono::milliseconds(500 << (attempt - 1)));
        }
    }
}

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

// One shard to download: its (validated) path and the most bytes it may hold.
struct Shard {
    std::string path;
    std::uint64_t max_bytes;
};

// Every shard of the manifest, with bounded concurrency; prints progress (one line on a TTY, else a line per file).
// The model URL's query (it may carry a token) goes only to shards on the model's own origin.
void download_shards(const Options& o, const ClientOptions& client, const std::string& model_url, const fsys::path& tmp,
                     const std::vector<Shard>& shards) {
    std::string query = model_url.find('?') == std::string::npos ? "" : model_url.substr(model_url.find('?'));
    const std::string model_origin = origin_of(model_url);
    std::atomic<std::size_t> next{0}, done{0};
    std::atomic<std::uint64_t> bytes{0};
    std::mutex lock;
    std::string error;
    auto start = std::chrono::steady_clock::now();
    bool tty = ::isatty(1);
    auto worker = [&] {
        for (std::size_t i; (i = next++) < shards.size();) {
            try {
                const std::string& path = shards[i].path;
                auto url = resolve_url(model_url, path);
                if (!url) throw FetchError(path + ": cannot be resolved against " + model_url);
                fsys::path file = tmp / path;
                fsys::create_directories(file.parent_path());
                std::string bare = url->substr(0, url->find('?'));
                download(origin_of(bare) == model_origin ? bare + query : bare, file, shards[i].max_bytes, client);
                bytes += fsys::file_size(file);
                std::lock_guard g(lock);
                double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                double rate = static_cast<double>(bytes) / std::max(secs, 1e-3);
                std::size_t n = ++done;
                double eta = n ? secs / static_cast<double>(n) * static_cast<double>(shards.size() - n) : 0;
                if (tty) std::printf("\r%zu/%zu shards  %.1f MB  %.1f MB/s  ETA %.0fs   ", n, shards.size(), static_cast<double>(bytes) / 1e6, rate / 1e6, eta);
                else std::printf("got %s (%ju bytes)\n", path.c_str(), static_cast<std::uintmax_t>(fsys::file_size(file)));
                std::fflush(stdout);
            } catch (const std::exception& e) {
                std::lock_guard g(lock);
                if (error.empty()) error = e.what();
                next = shards.size();  // stop handing out work
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < std::max(1u, o.concurrency); ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    if (tty) std::printf("\n");
    if (!error.empty()) throw FetchError(error);
}

// Moves the verified folder into place; with --force the old model is replaced only now, when the new one is whole.
void install(const fsys::path& tmp, const fsys::path& dest, bool force) {
    fsys::create_directories(dest.parent_path());
    if (fsys::exists(dest)) {
        if (!force) throw FetchError(dest.string() + " already exists; pass --force to replace it");
        fsys::path old = dest.parent_path() / ("." + dest.filename().string() + ".replaced-" + std::to_string(::getpid()));
        fsys::rename(dest, old);
        fsys::rename(tmp, dest);
        fsys::remove_all(old);
        return;
    }
    fsys::rename(tmp, dest);
}

// Temporary folders of fetches that were killed (their process is gone) are removed by the next fetch.
void remove_abandoned(const fsys::path& root) {
    std::error_code ec;
    for (const auto& e : fsys::directory_iterator(root, ec)) {
        std::string name = e.path().filename().string();
        if (!name.starts_with(".fetch-")) continue;
        long pid = std::atol(name.c_str() + 7);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fsys::remove_all(e.path(), ec);
    }
}

// The shards a manifest names, each checked before anything is opened, with the bytes its group declares.
std::vector<Shard> shards_of(const nlohmann::json& groups, const std::string& model_url) {
    std::vector<Shard> out;
    for (const auto& g : groups) {
        if (!g.is_object() || !g.contains("paths") || !g["paths"].is_array())
            throw FetchError(model_url + ": a weightsManifest group has no \"paths\" array");
        auto declared = g.contains("weights") ? models::declared_bytes(g["weights"]) : std::nullopt;
        for (const auto& p : g["paths"]) {
            if (!p.is_string()) {
                std::string shown = p.dump();  // hostile: shown in part
                if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
                throw FetchError(model_url + ": a shard path is not a string: " + shown);
            }
            const std::string path = p.get<std::string>();
            if (auto why = unsafe_shard_path(path); !why.empty())
                throw FetchError(model_url + ": refusing shard path \"" + path + "\": " + why + "; nothing was written");
            if (std::any_of(out.begin(), out.end(), [&](const Shard& s) { return s.path == path; }))
                throw FetchError(model_url + ": shard path \"" + path + "\" is listed twice");
            out.push_back({path, declared.value_or(max_unbounded_shard_bytes)});
        }
    }
    return out;
}

void fetch(const Options& o) {
    std::string model_url = model_json_url(o.url);
    std::string name = o.name.empty() ? default_name(model_url) : o.name;
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
    remove_abandoned(root);
    fsys::path tmp = root / (".fetch-" + std::to_string(::getpid()) + "-" + dest.filename().string());
    struct Cleanup {
        fsys::path p;
        ~Cleanup() { std::error_code ec; fsys::remove_all(p, ec); }
    } cleanup{tmp};
    fsys::create_directories(tmp);

    ClientOptions client;
    client.ca_file = o.ca_file;
    client.user_agent = "modelhost-fetch";
    client.deadline = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(o.timeout));
    std::printf("fetching %s\n", model_url.c_str());
    download(model_url, tmp / "model.json", max_manifest_bytes, client);
    std::ifstream in(tmp / "model.json");
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (!doc.is_object() || !doc.contains("weightsManifest") || !doc["weightsManifest"].is_array())
        throw FetchError(model_url + ": not a TF.js model.json (no weightsManifest array)");
    download_shards(o, client, model_url, tmp, shards_of(doc["weightsManifest"], model_url));

    models::ModelEntry check = models::check_model(tmp, "model.json");
    if (!check.ok()) throw FetchError("the downloaded model is broken, nothing installed: " + check.problems.front());
    install(tmp, dest, o.force);
    std::printf("installed %s: %zu files, %ju bytes -> %s\n", name.c_str(), check.files.size(),
                static_cast<std::uintmax_t>(check.total_bytes), (dest / "model.json").c_str());
}

}  // namespace

std::string unsafe_shard_path(std::string_view raw) {
    if (raw.empty()) return "empty";
    if (raw.find_first_of("?#") != std::string_view::npos) return "has a query or fragment";
    auto encoded = boost::urls::make_pct_string_view(raw);  // the decoding the server applies to targets
    if (!encoded) return "has a malformed percent-escape";
    const std::string path = encoded->decode();
    // Checked after decoding too: the server decodes once, so "%2e%2e" would be ".." when served.
    for (const std::string_view form : {raw, std::string_view(path)}) {
        if (form.starts_with('/')) return "is absolute";
        if (std::any_of(form.begin(), form.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            return "has a control character or NUL";
        if (form.find('\\') != std::string_view::npos) return "has a backslash";
        if (form.find(':') != std::string_view::npos) return "has a colon (a URL scheme or drive letter)";
        for (std::size_t pos = 0; pos <= form.size();) {
            auto slash = std::min(form.find('/', pos), form.size());
            auto seg = form.substr(pos, slash - pos);
            if (seg.empty() || seg == "." || seg == "..") return "has an empty, \".\" or \"..\" segment";
            if (seg.front() == '.') return "has a hidden segment";
            pos = slash + 1;
        }
    }
    auto type = http::mime_type(path);
    for (auto active : {"html", "svg", "javascript", "xml"})
        if (type.find(active) != std::string_view::npos) return "would be served as active content (" + std::string(type) + ")";
    return {};
}

std::string model_json_url(const std::string& url) {
    std::string path = url.substr(0, url.find('?'));
    if (path.ends_with(".json")) return url;
    while (path.ends_with('/')) path.pop_back();
    return path + "/model.json?tfjs-format=file";
}

int fetch_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("fetch", args, {{"--root", true}, {"--name", true}, {"--ca-file", true}, {"--concurrency", true},
                                                   {"--timeout", true}, {"--force", false}}, 1);
    if (!parsed.error.empty()) return usage_error("fetch", parsed.error);
    if (parsed.help) {
        std::printf("Usage: modelhost fetch URL [--root DIR] [--name NAME] [--force] [--ca-file PEM] [--concurrency N] [--timeout S]\n\n"
                    "Mirrors a TF.js model into DIR/NAME (DIR default models, created when missing; NAME default the URL's\n"
                    "last folder with any version folders after it: .../face_mesh/v3/model.json -> face_mesh/v3): a model.json URL, or a\n"
                    "tfhub-style model URL (https://tfhub.dev/mediapipe/tfjs-model/face_landmarks_detection/face_mesh/1 ->\n"
                    "its model.json?tfjs-format=file). Follows up to 10 redirects, downloads every shard (4 at a time),\n"
                    "retries transient failures, checks every shard against the manifest, and renames the folder into\n"
                    "place only when complete: a failure leaves nothing behind, and an existing model is replaced only\n"
                    "with --force and only by a complete one. HTTPS is verified (system CAs, plus --ca-file).\n\n"
                    "The remote is treated as hostile: shard paths must be plain relative names (no absolute, \"..\",\n"
                    "hidden, backslash or encoded escapes; no HTML, SVG, JS or XML files), each shard may hold at most\n"
                    "the bytes its group declares, redirects may not go from https to http, the model URL's query is\n"
                    "sent only to its own origin, and the whole fetch ends after --timeout seconds (default 1800;\n"
                    "each socket wait at most 15 s). Nothing is written outside the hidden temporary folder.\n\n"
                    "Exit codes: 0 installed, 1 the fetch failed (nothing changed), 2 bad usage.\n");
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
    if (o.url.empty() || !parse_http_url(model_json_url(o.url)))
        return std::fprintf(stderr, "modelhost fetch: URL must be an http:// or https:// model URL; see --help\n"), 2;
    try {
        fetch(o);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "modelhost fetch: %s\n", e.what());
        return 1;
    }
}

}  // namespace modelhost::tools
