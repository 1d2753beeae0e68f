// The requests a browser page makes for a model — preflight when needed, the GET with Origin through every redirect,
// then each shard with the model URL's query — judged by tools/diagnosis, printed as text or JSON lines, once or
// every DURATION (printing only what changed).
#include "tools/doctor.hpp"
#include "tools/doctor_plan.hpp"

#include "base/args.hpp"
#include "base/text.hpp"
#include "http/origin.hpp"
#include "models/manifest.hpp"
#include "tools/diagnosis.hpp"
#include "client/http_client.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>

namespace modelhost::tools {

using namespace client;  // the HTTP client (client/http_client.hpp) the tools share with mirrors

namespace {

// The preflight a page's request for `url` needs when its headers are not safelisted; judged into `v`. True when the
// GET may follow (no preflight needed, or it passed).
bool preflight(const HttpUrl& url, const Options& o, Verdict& v) {
    if (o.page.headers.empty()) return true;
    std::string requested;
    for (const auto& h : o.page.headers) requested.append(requested.empty() ? "" : ",").append(to_lower(h));
    diagnose_preflight(http_request(url, "OPTIONS", {{"Origin", o.page.origin}, {"Access-Control-Request-Method", "GET"},
                                                     {"Access-Control-Request-Headers", requested}}, false, o.client),
                       o.page, v);
    return v.pass();
}

}  // namespace

HttpResponse get_file(const std::string& url_text, const Options& o, Verdict& v, bool want_body, const HeaderPairs& extra) {
    // After a redirect to another origin the browser's Origin is "null" (Fetch's tainted origin): each later hop is
    // asked and judged so.
    bool tainted = false;
    auto send = [&](const HttpUrl& url) {
        if (!preflight(url, o, v)) return HttpResponse{};
        HeaderPairs h{{"Origin", tainted ? "null" : o.page.origin}};
        for (const auto& name : o.page.headers) h.emplace_back(name, "1");
        h.insert(h.end(), extra.begin(), extra.end());
        return http_request(url, "GET", h, want_body, o.client);
    };
    auto judge = [&](const HttpUrl& url, const HttpResponse& r) {
        if (!v.pass()) return false;  // its preflight failed: no GET was made
        BrowserRequest page = o.page;
        if (tainted) page.origin = "null";
        const std::size_t before = v.failures.size();
        diagnose_response(r, url.target.substr(0, url.target.find('?')), page, v);
        if (tainted)
            for (std::size_t i = before; i < v.failures.size(); ++i)
                v.failures[i].cause = "after a redirect to another origin the browser sends Origin: null, so this hop needs "
                                      "Access-Control-Allow-Origin: * (" + v.failures[i].cause + ")";
        if (auto next = redirect_target(r, url.text); next && origin_of(*next) != origin_of(url.text)) tainted = true;
        return v.pass();
    };
    try {
        return follow_redirects(url_text, send, RedirectRule{.max_redirects = 10, .allow_downgrade = true}, judge);
    } catch (const HttpError& e) {
        v.failures.push_back(unreachable(e.what()));
        return {};
    }
}

namespace {

// model.json and, when it passes and is a TF.js model, every shard (with the model URL's query, as TF.js asks).
std::vector<FileResult> tfjs_round(const Options& o) {
    std::vector<FileResult> out{{o.url, {}}};
    HttpResponse model = get_file(o.url, o, out[0].verdict, true);
    if (!out[0].verdict.pass()) return out;
    const models::Manifest doc = models::read_manifest(model.body);  // not a TF.js model: no groups
    for (const auto& group : doc.groups) {
        for (const auto& p : group.paths) {
            auto shard = p.is_string ? shard_url(o.url, p.path, true) : std::nullopt;  // the query anywhere, as TF.js
            if (!shard) continue;
            FileResult r{*shard, {}};
            get_file(r.url, o, r.verdict, false);
            out.push_back(std::move(r));
        }
    }
    return out;
}

std::vector<FileResult> round_for(const Options& o) {
    if (o.loader == "tfjs") return tfjs_round(o);
    return loader_round(o);
}

std::string fix_label(const Verdict& v) {
    return v.server.empty() ? "fix" : "fix (" + v.server + ")";
}

void print_text(const FileResult& r, const std::string& time) {
    const Verdict& v = r.verdict;
    std::printf("%s%s %s\n", time.empty() ? "" : ("[" + time + "] ").c_str(), v.pass() ? "PASS" : "FAIL", r.url.c_str());
    for (const auto& f : v.failures) {
        std::printf("  - %s\n", f.cause.c_str());
        if (!f.browser.empty()) std::printf("    browser: %s\n", f.browser.c_str());
        std::printf("    %s: %s\n", fix_label(v).c_str(), f.fix.c_str());
    }
    for (const auto& w : v.warnings) std::printf("  ! %s\n    %s: %s\n", w.cause.c_str(), fix_label(v).c_str(), w.fix.c_str());
}

nlohmann::ordered_json findings_json(const std::vector<Finding>& findings) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& f : findings) out.push_back({{"cause", f.cause}, {"browser", f.browser}, {"fix", f.fix}});
    return out;
}

void print_json(const FileResult& r, const std::string& time) {
    const Verdict& v = r.verdict;
    nlohmann::ordered_json j{{"url", r.url}, {"pass", v.pass()}, {"status", v.status}, {"server", v.server},
                     {"failures", findings_json(v.failures)}, {"warnings", findings_json(v.warnings)}};
    if (!time.empty()) j["time"] = time;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print(const Options& o, const FileResult& r, const std::string& time) {
    if (o.json) print_json(r, time);
    else print_text(r, time);
}

bool all_pass(const std::vector<FileResult>& results) {
    for (const auto& r : results)
        if (!r.verdict.pass()) return false;
    return true;
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// What a change means: the outcome and its causes (not the wording of fixes).
std::string signature(const Verdict& v) {
    std::string s = std::to_string(v.status);
    for (const auto& f : v.failures) s += "\n-" + f.cause;
    for (const auto& w : v.warnings) s += "\n!" + w.cause;
    return s;
}

// Prints the files whose verdict differs from `last` (all of them the first time) and those no longer in the model;
// returns the new signatures.
std::map<std::string, std::string> print_changes(const Options& o, const std::vector<FileResult>& results,
                                                 const std::map<std::string, std::string>& last, const std::string& time) {
    std::map<std::string, std::string> now;
    for (const auto& r : results) {
        now[r.url] = signature(r.verdict);
        if (auto it = last.find(r.url); it == last.end() || it->second != now[r.url]) print(o, r, time);
    }
    for (const auto& [url, _] : last) {
        if (now.contains(url)) continue;
        if (o.json) std::printf("%s\n", nlohmann::ordered_json{{"url", url}, {"gone", true}, {"time", time}}.dump().c_str());
        else std::printf("[%s] GONE %s\n", time.c_str(), url.c_str());
    }
    std::fflush(stdout);
    return now;
}

// Checks every `o.every` seconds until SIGINT/SIGTERM (a check in progress is finished first). Returns the last
// complete check's status.
int watch(const Options& o) {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    std::map<std::string, std::string> last;
    for (;;) {
        auto results = round_for(o);
        std::string time = utc_now();
        last = print_changes(o, results, last, time);
        int status = all_pass(results) ? 0 : 1;
        auto whole = static_cast<std::time_t>(*o.every);
        timespec wait{whole, static_cast<long>((*o.every - static_cast<double>(whole)) * 1e9)};
        if (int sig = sigtimedwait(&stop, nullptr, &wait); sig > 0) {
            std::fprintf(stderr, "modelhost doctor: stopped by %s; the last check (%s) %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                         time.c_str(), status == 0 ? "passed: exit status 0" : "found failures: exit status 1");
            return status;
        }
    }
}

// "90", "90s", "5m", "1h" → seconds; nullopt unless at least one second.
std::optional<double> parse_duration(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    double n = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || errno != 0 || !std::isfinite(n)) return std::nullopt;
    std::string unit(end);
    double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
    if (scale == 0 || n * scale < 1 || n * scale > 7 * 86400) return std::nullopt;
    return n * scale;
}

void print_help() {
    std::printf(
        "Usage: modelhost doctor URL --origin ORIGIN [--loader LOADER] [--credentials] [--header NAME]...\n"
        "                        [--ca-file PEM] [--json] [--every DURATION]\n\n"
        "Makes the requests a browser page at ORIGIN makes for URL with LOADER — a preflight when its headers need\n"
        "one, then each GET with Origin, following redirects (after a hop to another origin, with Origin: null, as\n"
        "the browser does). Prints PASS or FAIL per file; each failure names the real cause first (a 404 before the\n"
        "CORS error it turns into, an app's HTML page answering for a missing file), what the browser shows, and a\n"
        "fix for the server that answered (modelhost's config keys, nginx's directives, or general wording).\n\n"
        "  --loader LOADER   what the page loads URL with; guessed from URL (and, for a folder, from its files):\n"
        "      tfjs          model.json, then every shard with the model URL's query string, as TF.js does\n"
        "      transformers  URL is a repo folder (.../resolve/main/ or any folder): config.json, the tokenizer\n"
        "                    files (a missing one must be a real 404), the Range: bytes=0-0 probe (206 with an\n"
        "                    exposed Content-Range), a file that cannot exist (404, not a page), and Content-Length\n"
        "                    against Content-Encoding\n"
        "      webllm        URL is the model folder: mlc-chat-config.json, tensor-cache.json, every shard and\n"
        "                    tokenizer file, each as Cache.add keeps it (a 2xx that is not 206, no Vary: *)\n"
        "      ort, mediapipe  URL is the .onnx, .task, .tflite, .wasm or .mjs: its type (application/wasm, a\n"
        "                    JavaScript type for a module script) and CORP for cross-origin-isolated pages\n"
        "  --origin ORIGIN   the page's origin, scheme://host[:port] (e.g. http://localhost:5173)\n"
        "  --credentials     the page fetches with credentials: 'include'\n"
        "  --header NAME     a request header the page adds (repeatable; non-safelisted ones need a preflight)\n"
        "  --ca-file PEM     also trust this CA (https:// is verified against the system's CAs, with SNI)\n"
        "  --json            one JSON object per file and line: url, pass, status, server, failures, warnings\n"
        "                    (each {cause, browser, fix})\n"
        "  --every DURATION  keep checking (90, 90s, 5m, 1h; 1 s to 7 days), print only files whose result\n"
        "                    changed (with the time), until SIGINT/SIGTERM\n\n"
        "Exit codes: 0 every file passes, 1 a file fails, 2 bad usage. With --every: the last check's 0 or 1.\n");
}

// Fills `o` from the command line; "" or the usage error.
std::string read_options(const ParsedArgs& parsed, Options& o) {
    o.url = parsed.positionals.empty() ? "" : parsed.positionals[0];
    o.page.origin = parsed.value("--origin").value_or("");
    o.page.headers = parsed.values("--header");
    o.page.credentials = parsed.has("--credentials");
    o.client.ca_file = parsed.value("--ca-file").value_or("");
    o.client.user_agent = "modelhost-doctor";
    o.json = parsed.has("--json");
    if (o.url.empty()) return "missing URL";
    o.guessed = !parsed.value("--loader");
    o.loader = parsed.value("--loader").value_or(guess_loader(o.url));
    if (!known_loader(o.loader))
        return "--loader \"" + o.loader + "\" is not one of tfjs, transformers, ort, mediapipe, webllm";
    if (o.page.origin.empty()) return "--origin is required (the page's origin, e.g. http://localhost:5173)";
    if (!parse_http_url(o.url)) return "URL \"" + o.url + "\" must be an http:// or https:// URL";
    auto origin = http::parse_origin(o.page.origin);
    if (!origin || (!origin->opaque && o.page.origin.find("://") == std::string::npos))
        return "--origin \"" + o.page.origin + "\" is not an origin: write scheme://host[:port], e.g. https://app.example.com";
    if (auto every = parsed.value("--every")) {
        if (!(o.every = parse_duration(*every)))
            return "--every \"" + *every + "\" is not a duration from 1 s to 7 days (e.g. 90s, 5m, 1h)";
    }
    return {};
}

}  // namespace

int doctor_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("doctor", args, {{"--origin", true}, {"--header", true}, {"--credentials", false},
                                                    {"--ca-file", true}, {"--json", false}, {"--every", true},
                                                    {"--loader", true}}, 1);
    if (!parsed.error.empty()) return usage_error("doctor", parsed.error);
    if (parsed.help) {
        print_help();
        return 0;
    }
    Options o;
    if (auto error = read_options(parsed, o); !error.empty()) return usage_error("doctor", error);
    if (o.every) return watch(o);
    auto results = round_for(o);
    for (const auto& r : results) print(o, r, "");
    return all_pass(results) ? 0 : 1;
}

}  // namespace modelhost::tools
