// The Fetch standard's CORS check, file by file, reported in Chromium's words with a hint for the server's owner.
#include "tools/doctor.hpp"

#include "base/args.hpp"
#include "base/text.hpp"
#include "tools/http_client.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace modelhost::tools {

namespace {

struct Options {
    std::string url, origin;
    ClientOptions client;  // --ca-file
    bool credentials = false;
    std::vector<std::string> headers;  // non-safelisted request headers the app sends (they need a preflight)
};

// One file's verdict: failures decide the exit code, warnings do not.
struct Verdict {
    std::vector<std::string> failures, warnings;
};

std::string list_has_problem(const std::vector<std::string>& allowed, const std::vector<std::string>& wanted, bool star_ok) {
    for (const auto& w : wanted) {
        bool found = std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
            std::string_view item = trim_ows(a);
            return (star_ok && item == "*") || to_lower(item) == to_lower(w);
        });
        if (!found) return w;
    }
    return {};
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const auto& v : values)
        for (std::size_t pos = 0; pos <= v.size();) {
            auto comma = v.find(',', pos);
            auto item = trim_ows(std::string_view(v).substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
            if (!item.empty()) out.emplace_back(item);
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
    return out;
}

// Access-Control-Allow-Origin / -Credentials as Chromium checks them (Fetch "CORS check").
void check_cors(const HttpResponse& r, const Options& o, Verdict& v) {
    auto acao = r.all("Access-Control-Allow-Origin");
    if (acao.empty()) {
        v.failures.push_back("No 'Access-Control-Allow-Origin' header is present on the requested resource. "
                             "Fix: add " + o.origin + " to cors.allow_origins (or allow \"*\").");
        return;
    }
    if (acao.size() > 1 || acao[0].find(',') != std::string::npos) {
        std::string joined = join(acao);
        v.failures.push_back("The 'Access-Control-Allow-Origin' header contains multiple values '" + joined +
                             "', but only one is allowed. Fix: send exactly one value, \"*\" or the request's Origin.");
        return;
    }
    if (acao[0] == "*" && o.credentials) {
        v.failures.push_back("The value of the 'Access-Control-Allow-Origin' header in the response must not be the "
                             "wildcard '*' when the request's credentials mode is 'include'. Fix: echo the origin.");
        return;
    }
    if (acao[0] != "*" && acao[0] != o.origin) {
        v.failures.push_back("The 'Access-Control-Allow-Origin' header has a value '" + acao[0] +
                             "' that is not equal to the supplied origin. Fix: echo the request's Origin exactly.");
        return;
    }
    auto acac = r.all("Access-Control-Allow-Credentials");
    if (o.credentials && (acac.size() != 1 || acac[0] != "true"))
        v.failures.push_back("The value of the 'Access-Control-Allow-Credentials' header in the response is '" +
                             (acac.empty() ? std::string() : acac[0]) +
                             "' which must be 'true' when the request's credentials mode is 'include'.");
    auto vary = split_list(r.all("Vary"));
    bool varies = std::any_of(vary.begin(), vary.end(), [](const std::string& t) { return t == "*" || equals_lower(t, "origin"); });
    if (acao[0] != "*" && !varies)
        v.warnings.push_back("Access-Control-Allow-Origin names an origin but Vary lacks Origin: a shared cache can hand "
                             "this answer to another site. Fix: send Vary: Origin on every response.");
}

// The preflight a browser sends before a GET with non-safelisted headers.
void preflight(const HttpUrl& url, const Options& o, Verdict& v) {
    std::vector<std::string> lower;
    for (const auto& h : o.headers) lower.push_back(to_lower(h));
    std::sort(lower.begin(), lower.end());
    std::string requested;
    for (const auto& h : lower) requested += (requested.empty() ? "" : ",") + h;
    HttpResponse r = http_request(url, "OPTIONS", {{"Origin", o.origin}, {"Access-Control-Request-Method", "GET"},
                                                   {"Access-Control-Request-Headers", requested}}, false);
    if (r.status < 200 || r.status > 299) {
        v.failures.push_back("Response to preflight request doesn't pass access control check: It does not have HTTP ok "
                             "status (" + std::to_string(r.status) + "). Fix: allow this origin, GET and the requested headers "
                             "(cors.allow_origins, cors.allow_headers) so the preflight gets 204.");
        return;
    }
    Verdict cors;
    check_cors(r, o, cors);
    for (auto& f : cors.failures) v.failures.push_back("Response to preflight request doesn't pass access control check: " + f);
    if (!cors.failures.empty()) return;
    if (auto missing = list_has_problem(split_list(r.all("Access-Control-Allow-Headers")), lower, !o.credentials); !missing.empty())
        v.failures.push_back("Request header field " + missing + " is not allowed by Access-Control-Allow-Headers in "
                             "preflight response. Fix: add it to cors.allow_headers.");
}

// Content types the loaders depend on.
void check_type(const HttpUrl& url, const HttpResponse& r, Verdict& v) {
    auto types = r.all("Content-Type");
    std::string type = types.empty() ? "" : to_lower(types[0]);
    std::string path = url.target.substr(0, url.target.find('?'));
    if (path.ends_with(".wasm") && !type.starts_with("application/wasm"))
        v.failures.push_back("Incorrect response MIME type. Expected 'application/wasm' (got '" + type +
                             "'): wasm streaming compile fails. Fix: serve .wasm as application/wasm.");
    if (path.ends_with(".json") && !type.starts_with("application/json"))
        v.warnings.push_back("model.json is served as '" + type + "'; expected application/json.");
    bool nosniff = !r.all("X-Content-Type-Options").empty();
    if ((path.ends_with(".js") || path.ends_with(".mjs")) && nosniff && type.find("javascript") == std::string::npos)
        v.failures.push_back("Refused to execute script because its MIME type ('" + type +
                             "') is not executable, and strict MIME type checking is enabled.");
}

// GET with Origin, following up to 10 redirects; every hop must pass the CORS check. Returns the final response.
HttpResponse fetch(std::string url_text, const Options& o, Verdict& v, bool want_body) {
    for (int hop = 0;; ++hop) {
        auto url = parse_http_url(url_text);
        if (!url) throw HttpError(url_text + ": not an http:// or https:// URL");
        if (!o.headers.empty()) preflight(*url, o, v);
        if (!v.failures.empty()) return {};
        HeaderPairs h{{"Origin", o.origin}};
        for (const auto& name : o.headers) h.emplace_back(name, "1");
        HttpResponse r = http_request(*url, "GET", h, want_body, o.client);
        check_cors(r, o, v);
        if (!v.failures.empty()) return r;
        if (auto next = redirect_target(r, url_text)) {
            if (hop == 10) throw HttpError(url_text + ": more than 10 redirects");
            url_text = *next;
            continue;
        }
        if (r.status < 200 || r.status > 299)
            v.failures.push_back("HTTP " + std::to_string(r.status) + ": the browser gets an error status (" +
                                 "TF.js reads a 404 shard as weights if the body is HTML). Fix: publish the file.");
        check_type(*url, r, v);
        return r;
    }
}

bool report(const std::string& url, const Verdict& v) {
    std::printf("%s %s\n", v.failures.empty() ? "PASS" : "FAIL", url.c_str());
    for (const auto& f : v.failures) std::printf("  - %s\n", f.c_str());
    for (const auto& w : v.warnings) std::printf("  ! %s\n", w.c_str());
    return v.failures.empty();
}

int usage(const char* why) {
    std::fprintf(stderr, "modelhost doctor: %s\nUsage: modelhost doctor URL --origin ORIGIN [--credentials] [--header NAME]... [--ca-file PEM]\n", why);
    return 2;
}

}  // namespace

int doctor_command(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args("doctor", args, {{"--origin", true}, {"--header", true}, {"--credentials", false},
                                                    {"--ca-file", true}}, 1);
    if (!parsed.error.empty()) return usage_error("doctor", parsed.error);
    if (parsed.help) {
        std::printf("Usage: modelhost doctor URL --origin ORIGIN [--credentials] [--header NAME]... [--ca-file PEM]\n\n"
                    "Makes the requests a browser at ORIGIN makes for URL — a preflight when the headers need one,\n"
                    "then the GET with Origin, following redirects — and, when URL is a TF.js model.json, for every\n"
                    "shard (with the model URL's query string, as TF.js does). Prints PASS/FAIL per file with the\n"
                    "browser's reason and a fix. https:// is verified against the system's CA store (plus\n"
                    "--ca-file for a private CA), with SNI.\n\n"
                    "Exit codes: 0 every file passes, 1 a file fails, 2 bad usage.\n");
        return 0;
    }
    Options o;
    o.url = parsed.positionals.empty() ? "" : parsed.positionals[0];
    o.origin = parsed.value("--origin").value_or("");
    o.headers = parsed.values("--header");
    o.credentials = parsed.has("--credentials");
    o.client.ca_file = parsed.value("--ca-file").value_or("");
    if (o.url.empty() || o.origin.empty()) return usage("URL and --origin are required");
    if (!parse_http_url(o.url)) return usage(("URL \"" + o.url + "\" must be an http:// or https:// URL").c_str());
    bool all_pass = true;
    try {
        Verdict v;
        HttpResponse model = fetch(o.url, o, v, true);
        all_pass = report(o.url, v) && all_pass;
        auto doc = nlohmann::json::parse(model.body, nullptr, false);
        if (!v.failures.empty() || !doc.is_object() || !doc.contains("weightsManifest")) return all_pass ? 0 : 1;
        std::string query = o.url.find('?') == std::string::npos ? "" : o.url.substr(o.url.find('?'));
        for (const auto& group : doc["weightsManifest"])
            for (const auto& p : group.value("paths", nlohmann::json::array())) {
                auto shard = resolve_url(o.url, p.get<std::string>());
                if (!shard) continue;
                std::string with_query = shard->substr(0, shard->find('?')) + query;
                Verdict sv;
                fetch(with_query, o, sv, false);
                all_pass = report(with_query, sv) && all_pass;
            }
    } catch (const HttpError& e) {
        std::printf("FAIL %s\n", e.what());
        return 1;
    }
    return all_pass ? 0 : 1;
}

}  // namespace modelhost::tools
