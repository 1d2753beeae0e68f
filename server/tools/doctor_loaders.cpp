// The requests each loader beside TF.js makes, as doctor makes them:
// - transformers.js: config.json, the tokenizer files (a real 404 for a missing one), the Range: bytes=0-0 probe on a
//   file (206 with an exposed Content-Range), a file that surely does not exist (a real 404, not an app's page), and
//   Content-Length against Content-Encoding (its progress counts decoded bytes);
// - WebLLM: mlc-chat-config.json, tensor-cache.json (the runtime asks this name only), every shard and tokenizer
//   file, each Cache.add-able (https://w3c.github.io/ServiceWorker/#cache-addAll: a 2xx that is not 206, no Vary: *);
// - ORT and MediaPipe: the file itself, module scripts' MIME type, CORP for cross-origin-isolated pages.
#include "tools/doctor_plan.hpp"

#include "base/text.hpp"
#include "models/webllm.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

namespace modelhost::tools {

namespace {

std::string path_of(const std::string& url) {
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (slash == std::string::npos) return "/";
    return url.substr(slash, url.find_first_of("?#", slash) - slash);
}

// The folder a repo-shaped loader reads from: the URL itself when it ends in '/' or its last segment has no '.',
// else the URL's folder.
std::string folder_of(const std::string& url) {
    std::string u = url.substr(0, url.find_first_of("?#"));
    const std::string last = u.substr(u.rfind('/') + 1);
    if (u.ends_with('/')) return u;
    if (last.find('.') == std::string::npos) return u + "/";
    return u.substr(0, u.rfind('/') + 1);
}

std::vector<std::string> tokens(const HttpResponse& r, const char* header) {
    std::vector<std::string> out;
    for (const auto& value : r.all(header)) for_each_list_item(value, [&](std::string_view t) { out.push_back(to_lower(t)); return true; });
    return out;
}

bool has(const std::vector<std::string>& list, const std::string& t) { return std::find(list.begin(), list.end(), t) != list.end(); }

std::string fix_for(const Verdict& v, const std::string& modelhost, const std::string& nginx, const std::string& other) {
    const std::string s = to_lower(v.server);
    return s.starts_with("modelhost") ? modelhost : s.starts_with("nginx") ? nginx : other;
}

// A file the loader may ask for and do without: a real 404 (that the page can read) is what it expects.
FileResult optional_file(const std::string& url, const Options& o) {
    FileResult r{url, {}};
    get_file(url, o, r.verdict, false);
    if (r.verdict.status == 404 && r.verdict.failures.size() == 1 && r.verdict.failures[0].browser.find("CORS") == std::string::npos)
        r.verdict.failures.clear();  // "the page sees the 404": fine for an optional file
    return r;
}

// A body sent compressed with a Content-Length: the compressed size, where a loader counting bytes expects the file's.
void check_identity_length(const HttpResponse& r, Verdict& v) {
    auto encoding = tokens(r, "Content-Encoding");
    if (encoding.empty() || has(encoding, "identity") || r.all("Content-Length").empty()) return;
    v.warnings.push_back({"the body is sent with Content-Encoding: " + join(encoding) + " and Content-Length: " +
                              r.all("Content-Length")[0] + ", the compressed size: transformers.js's progress counts the "
                              "decoded bytes against it (past 100%), and a loader checking sizes sees a mismatch", "",
                          fix_for(v, "modelhost compresses only when compress is on: turn it off for this route",
                                  "gzip off; for model files (location ~* \\.(json|onnx|bin)$ { gzip off; })",
                                  "serve model files without Content-Encoding, or with chunked framing")});
}

// The Range: bytes=0-0 probe: 206, and Content-Range readable by the page.
FileResult range_probe(const std::string& url, const Options& o) {
    FileResult r{url + " (Range: bytes=0-0)", {}};
    HttpResponse res = get_file(url, o, r.verdict, false, {{"Range", "bytes=0-0"}});
    if (!r.verdict.pass()) return r;
    Verdict& v = r.verdict;
    if (res.status != 206) {
        v.failures.push_back({"answers Range: bytes=0-0 with " + std::to_string(res.status) + ", not 206",
                              "transformers.js reads the file's size from the probe's Content-Range: it gets none",
                              fix_for(v, "modelhost answers ranges of files (a route's headers may not drop Accept-Ranges)",
                                      "do not turn ranges off (max_ranges 0) for model files",
                                      "answer byte ranges with 206 Partial Content and Content-Range")});
        return r;
    }
    auto exposed = tokens(res, "Access-Control-Expose-Headers");
    bool star = has(exposed, "*") && !o.page.credentials;
    if (!star && !has(exposed, "content-range"))
        v.failures.push_back({"Content-Range is not in Access-Control-Expose-Headers",
                              "the page reads null for Content-Range (a cross-origin response shows only safelisted headers)",
                              fix_for(v, "modelhost exposes Content-Range unless cors.expose_headers replaces the list: add it back",
                                      "add_header Access-Control-Expose-Headers \"Content-Range, Content-Length, ETag\" always;",
                                      "send Access-Control-Expose-Headers: Content-Range, Content-Length, ETag")});
    return r;
}

std::string random_name() {
    std::random_device rd;
    return "modelhost-doctor-" + std::to_string(rd()) + "-absent.json";
}

// A file that cannot exist must be a 404 (transformers.js caches whatever 200 it gets, forever).
FileResult absent_probe(const std::string& folder, const Options& o) {
    FileResult r{folder + random_name(), {}};
    HttpResponse res = get_file(r.url, o, r.verdict, false);
    if (res.status == 404 && r.verdict.failures.size() == 1 && r.verdict.failures[0].browser.find("CORS") == std::string::npos)
        r.verdict.failures.clear();
    else if (r.verdict.pass() && res.status >= 200 && res.status <= 299)
        r.verdict.failures.push_back({"a file that does not exist answers " + std::to_string(res.status) + ", not 404",
                                      "a loader takes the answer for the file (transformers.js caches it for good)",
                                      "answer a missing file with 404"});
    r.url += " (must not exist)";
    return r;
}

std::vector<FileResult> transformers_round(const Options& o) {
    const std::string folder = folder_of(o.url);
    std::vector<FileResult> out{{folder + "config.json", {}}};
    HttpResponse config = get_file(out[0].url, o, out[0].verdict, true, {{"Accept-Encoding", "gzip, deflate, br, zstd"}});
    if (out[0].verdict.pass()) {
        check_identity_length(config, out[0].verdict);
        if (nlohmann::json::accept(config.body) == false && config.all("Content-Encoding").empty())
            out[0].verdict.failures.push_back({"config.json is not JSON", "SyntaxError: Unexpected token in JSON", "publish the model's config.json"});
    }
    out.push_back(range_probe(folder + "config.json", o));
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) out.push_back(optional_file(folder + f, o));
    out.push_back(absent_probe(folder, o));
    return out;
}

// One WebLLM file: as a page fetches it, then as Cache.add keeps it.
FileResult cached_file(const std::string& url, const Options& o, bool want_body, HttpResponse* keep = nullptr) {
    FileResult r{url, {}};
    HttpResponse res = get_file(url, o, r.verdict, want_body);
    if (r.verdict.pass()) {
        auto vary = tokens(res, "Vary");
        if (res.status == 206)
            r.verdict.failures.push_back({"a plain GET answered 206 Partial Content", "Cache.add: TypeError (a partial response cannot be cached)",
                                          "answer a GET without Range with 200 and the whole file"});
        if (has(vary, "*"))
            r.verdict.failures.push_back({"Vary: * on the response", "Cache.add: \"encountered a network error\" (Vary: * can never match; web-llm #389)",
                                          fix_for(r.verdict, "a route's headers set Vary: *: remove it (modelhost sends Vary: Origin, Accept-Encoding)",
                                                  "remove add_header Vary * (use Vary Origin)", "send Vary: Origin, never *")});
    }
    if (keep) *keep = std::move(res);
    return r;
}

std::vector<FileResult> webllm_round(const Options& o) {
    const std::string folder = folder_of(o.url);
    std::vector<FileResult> out;
    HttpResponse chat, cache;
    out.push_back(cached_file(folder + "mlc-chat-config.json", o, true, &chat));
    out.push_back(cached_file(folder + "tensor-cache.json", o, true, &cache));
    if (out.back().verdict.status == 404)
        out.back().verdict.failures.back().fix += fix_for(out.back().verdict,
            "", "; apache/tvm renamed ndarray-cache.json to tensor-cache.json (#18275): serve the file under both names "
                "(location ~ /tensor-cache\\.json$ { try_files $uri $uri/../ndarray-cache.json =404; })",
            "; apache/tvm renamed ndarray-cache.json to tensor-cache.json (#18275): serve it under both names");
    std::vector<std::string> files;
    for (const auto& f : models::read_mlc_chat_config(chat.body).tokenizer_files) files.push_back(f);
    for (const auto& s : models::read_webllm_cache(cache.body).shards)
        if (s.problem.empty()) files.push_back(s.path);
    for (const auto& f : files) out.push_back(cached_file(folder + f, o, false));
    return out;
}

// ORT and MediaPipe: the model or runtime file; a module script must come with a JavaScript type.
std::vector<FileResult> asset_round(const Options& o) {
    std::vector<FileResult> out{{o.url, {}}};
    Verdict& v = out[0].verdict;
    HttpResponse r = get_file(o.url, o, v, false);
    if (r.status < 200 || r.status > 299) return out;
    const std::string path = path_of(o.url);
    auto types = r.all("Content-Type");
    const std::string type = types.empty() ? "" : to_lower(types[0]);
    if ((path.ends_with(".mjs") || path.ends_with(".js")) && type.find("javascript") == std::string::npos)
        v.failures.push_back({"a module script served as '" + type + "'",
                              "Failed to load module script: Expected a JavaScript module script but the server responded "
                              "with a MIME type of \"" + type + "\".",
                              fix_for(v, "a route's headers set Content-Type for this path: remove it",
                                      "include mime.types; (Debian's maps js and mjs to application/javascript)",
                                      "serve .mjs and .js as text/javascript")});
    if (r.all("Cross-Origin-Resource-Policy").empty())
        v.warnings.push_back({"no Cross-Origin-Resource-Policy: a cross-origin-isolated page (COEP: require-corp, which "
                              "threaded wasm needs) loading it without CORS is blocked", "",
                              fix_for(v, "put back headers {\"Cross-Origin-Resource-Policy\": \"cross-origin\"}, modelhost's default (top level or the route)",
                                      "add_header Cross-Origin-Resource-Policy cross-origin always;",
                                      "send Cross-Origin-Resource-Policy: cross-origin")});
    return out;
}

}  // namespace

bool known_loader(const std::string& l) {
    return l == "tfjs" || l == "transformers" || l == "ort" || l == "mediapipe" || l == "webllm";
}

std::string guess_loader(const std::string& url) {
    const std::string p = path_of(url);
    if (p.ends_with("/model.json")) return "tfjs";
    if (p.ends_with(".onnx") || p.ends_with(".wasm") || p.ends_with(".mjs")) return "ort";
    if (p.ends_with(".task") || p.ends_with(".tflite")) return "mediapipe";
    if (p.ends_with("mlc-chat-config.json") || p.ends_with("tensor-cache.json") || p.ends_with("ndarray-cache.json")) return "webllm";
    if (p.ends_with("/config.json") || p.find("/resolve/") != std::string::npos) return "transformers";
    return "tfjs";
}

std::vector<FileResult> loader_round(const Options& o) {
    if (o.loader == "transformers" && o.guessed) {
        Verdict probe;
        get_file(folder_of(o.url) + "mlc-chat-config.json", o, probe, false);
        if (probe.status == 200) return webllm_round(o);
    }
    if (o.loader == "transformers") return transformers_round(o);
    if (o.loader == "webllm") return webllm_round(o);
    return asset_round(o);
}

}  // namespace modelhost::tools
