// The Fetch standard's CORS check (https://fetch.spec.whatwg.org/#cors-check) in Chromium's words, ordered so the
// cause a developer can act on comes first: a 404 without CORS headers shows in the console as a CORS error, and
// the fix is to publish the file (and, on nginx, `always`), not to widen the allow-list.
#include "tools/diagnosis.hpp"

#include "base/text.hpp"

#include <boost/beast/http/status.hpp>

#include <algorithm>

namespace modelhost::tools {

namespace {

enum class CorsProblem { none, missing, multiple, wildcard_with_credentials, other_origin, no_credentials };

struct CorsCheck {
    CorsProblem problem = CorsProblem::none;
    std::string seen;  // the offending value(s)
};

CorsCheck check_cors(const HttpResponse& r, const BrowserRequest& page) {
    auto acao = r.all("Access-Control-Allow-Origin");
    if (acao.empty()) return {CorsProblem::missing, ""};
    if (acao.size() > 1 || acao[0].find(',') != std::string::npos) return {CorsProblem::multiple, join(acao)};
    if (acao[0] == "*" && page.credentials) return {CorsProblem::wildcard_with_credentials, "*"};
    if (acao[0] != "*" && acao[0] != page.origin) return {CorsProblem::other_origin, acao[0]};
    auto acac = r.all("Access-Control-Allow-Credentials");
    if (page.credentials && (acac.size() != 1 || acac[0] != "true"))
        return {CorsProblem::no_credentials, acac.empty() ? "" : acac[0]};
    return {};
}

// Chromium's console text for the problem.
std::string chromium_says(const CorsCheck& c) {
    switch (c.problem) {
    case CorsProblem::missing: return "No 'Access-Control-Allow-Origin' header is present on the requested resource.";
    case CorsProblem::multiple:
        return "The 'Access-Control-Allow-Origin' header contains multiple values '" + c.seen + "', but only one is allowed.";
    case CorsProblem::wildcard_with_credentials:
        return "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when "
               "the request's credentials mode is 'include'.";
    case CorsProblem::other_origin:
        return "The 'Access-Control-Allow-Origin' header has a value '" + c.seen + "' that is not equal to the supplied origin.";
    case CorsProblem::no_credentials:
        return "The value of the 'Access-Control-Allow-Credentials' header in the response is '" + c.seen +
               "' which must be 'true' when the request's credentials mode is 'include'.";
    case CorsProblem::none: break;
    }
    return {};
}

std::string cause_of(const CorsCheck& c, const BrowserRequest& page) {
    switch (c.problem) {
    case CorsProblem::missing: return "no Access-Control-Allow-Origin for " + page.origin;
    case CorsProblem::multiple: return "Access-Control-Allow-Origin is sent more than once ('" + c.seen + "')";
    case CorsProblem::wildcard_with_credentials: return "Access-Control-Allow-Origin is '*' but the page sends credentials";
    case CorsProblem::other_origin: return "Access-Control-Allow-Origin names another origin ('" + c.seen + "'), not " + page.origin;
    case CorsProblem::no_credentials: return "the page sends credentials but Access-Control-Allow-Credentials is not 'true'";
    case CorsProblem::none: break;
    }
    return {};
}

// nginx's map that echoes allowed origins only (and the lines that use it).
std::string nginx_map(const BrowserRequest& page, const std::string& also) {
    return "map $http_origin $cors_origin { default \"\"; \"" + page.origin + "\" $http_origin;" +
           (also.empty() ? "" : " \"" + also + "\" $http_origin;") +
           " } in http {}, then add_header Access-Control-Allow-Origin $cors_origin always; add_header Vary Origin always;";
}

std::string nginx_fix(const CorsCheck& c, const BrowserRequest& page) {
    switch (c.problem) {
    case CorsProblem::missing:
        return "in the location serving this file: add_header Access-Control-Allow-Origin \"" +
               (page.credentials ? page.origin : page.origin + "\" (or \"*\")") + (page.credentials ? "\"" : "") +
               " always; (a location with any add_header of its own drops every add_header of the server block)";
    case CorsProblem::multiple:
        return "two add_header lines set it (often one in an included snippet, or add_header on top of a proxied "
               "upstream's own header): keep one; for an upstream's, use proxy_hide_header Access-Control-Allow-Origin;";
    case CorsProblem::wildcard_with_credentials:
        return "echo a checked origin instead of *: " + nginx_map(page, "") +
               " add_header Access-Control-Allow-Credentials true always;";
    case CorsProblem::other_origin: return "the add_header names one fixed origin; allow " + page.origin + " too with " + nginx_map(page, c.seen);
    case CorsProblem::no_credentials: return "add_header Access-Control-Allow-Credentials true always;";
    case CorsProblem::none: break;
    }
    return {};
}

std::string modelhost_fix(const CorsCheck& c, const BrowserRequest& page) {
    switch (c.problem) {
    case CorsProblem::missing:
        return "add \"" + page.origin + "\" to cors.allow_origins (or to the matching route's): modelhost answers an "
               "origin it does not allow without CORS headers";
    case CorsProblem::multiple:
        return "modelhost sends one; something in front of it (a proxy or CDN) adds another: let only one of them set it";
    case CorsProblem::wildcard_with_credentials:
        return "list \"" + page.origin + "\" in cors.allow_origins instead of \"*\" and set cors.allow_credentials: true "
               "(modelhost then echoes the origin)";
    case CorsProblem::other_origin:
        return "modelhost echoes each request's own origin, so a cache in front of it served another site's answer: make "
               "that cache honour Vary: Origin";
    case CorsProblem::no_credentials:
        return "set cors.allow_credentials: true (with \"" + page.origin + "\" in cors.allow_origins)";
    case CorsProblem::none: break;
    }
    return {};
}

std::string generic_fix(const CorsCheck& c, const BrowserRequest& page) {
    switch (c.problem) {
    case CorsProblem::missing: return "make the server send Access-Control-Allow-Origin: " + page.origin + " (or *) with this file";
    case CorsProblem::multiple: return "send Access-Control-Allow-Origin once, with one value: * or the request's Origin";
    case CorsProblem::wildcard_with_credentials:
        return "echo the request's Origin (checked against an allow-list) instead of *, with "
               "Access-Control-Allow-Credentials: true and Vary: Origin";
    case CorsProblem::other_origin: return "echo the request's Origin when it is allowed (not a fixed one), with Vary: Origin";
    case CorsProblem::no_credentials: return "send Access-Control-Allow-Credentials: true";
    case CorsProblem::none: break;
    }
    return {};
}

std::string fix_for(const CorsCheck& c, ServerKind k, const BrowserRequest& page) {
    switch (k) {
    case ServerKind::nginx: return nginx_fix(c, page);
    case ServerKind::modelhost: return modelhost_fix(c, page);
    case ServerKind::other: break;
    }
    return generic_fix(c, page);
}

std::string status_text(unsigned status) {
    auto reason = boost::beast::http::obsolete_reason(boost::beast::http::int_to_status(status));
    std::string out = std::to_string(status);
    if (reason != "<unknown-status>") out.append(" ").append(reason);
    return out;
}

std::string status_meaning(unsigned status) {
    if (status == 404 || status == 410) return "the file is missing";
    if (status == 401 || status == 403) return "the server refuses to give the file out";
    if (status == 405) return "the server does not allow GET here";
    if (status == 429) return "the server rate-limits this client";
    if (status >= 500) return "the server failed";
    return "the request is refused";
}

std::string status_fix(unsigned status) {
    if (status == 404 || status == 410) return "publish the file at this URL (or correct the path in model.json or in the app)";
    if (status == 401 || status == 403)
        return "make the file readable by the server and public (a model loader sends no credentials unless told to)";
    if (status >= 500) return "see the server's error log";
    return "make the server answer 200 for this file";
}

// On an error status the CORS headers decide whether the page sees the status or a CORS error.
std::string error_cors_fix(const CorsCheck& c, ServerKind k, const BrowserRequest& page) {
    if (c.problem != CorsProblem::missing || k == ServerKind::modelhost) return fix_for(c, k, page);
    if (k == ServerKind::nginx)
        return "add `always` to each add_header Access-Control-... line (without it nginx adds them only to 200, 201, "
               "204, 206, 301, 302, 303, 304, 307 and 308 responses)";
    return "make the server send Access-Control-Allow-Origin on error responses too";
}

Finding error_status(const HttpResponse& r, const CorsCheck& c, ServerKind k, const BrowserRequest& page) {
    std::string code = std::to_string(r.status);
    Finding f{status_text(r.status) + ": " + status_meaning(r.status), "", status_fix(r.status)};
    if (c.problem == CorsProblem::none) {
        f.browser = "the page sees the " + code + "; the model fails to load";
        return f;
    }
    f.browser = "the " + code + " carries " +
                (c.problem == CorsProblem::missing ? std::string("no Access-Control-Allow-Origin") : cause_of(c, page)) +
                ", so the browser reports a CORS error instead of the " + code + ": \"" + chromium_says(c) + "\"";
    f.fix += "; and so that errors are not disguised as CORS errors: " + error_cors_fix(c, k, page);
    return f;
}

// A file a loader reads as data (JSON, protobuf, wasm, weights, a zip) answered with an HTML page: the host falls
// back to its app's index.html for any path it does not hold.
bool spa_fallback(const std::string& path, const std::string& type, ServerKind k, Verdict& v) {
    if (!type.starts_with("text/html")) return false;
    bool data = false;
    for (const char* ext : {".json", ".onnx", ".onnx_data", ".wasm", ".bin", ".task", ".tflite", ".mjs", ".js", ".txt", ".model"})
        data = data || path.ends_with(ext);
    if (!data || path.ends_with(".html")) return false;
    std::string fix = k == ServerKind::nginx
        ? "the location's try_files ends in /index.html, so a missing file gets the app's page: give model files their own "
          "location without the fallback, e.g. location ~* \\.(json|onnx|onnx_data|bin|wasm|mjs|task|tflite)$ { try_files $uri =404; }"
        : k == ServerKind::modelhost ? "something in front of modelhost (a proxy or CDN rule) answers with a page: let model paths through"
                                     : "answer a missing model file with 404: the app's fallback to index.html must not cover model paths";
    v.failures.push_back({"the host answers missing files with its HTML page (an SPA fallback): this " + path.substr(path.rfind('.')) +
                              " URL got a 200 text/html",
                          "the loader parses the page: \"Unexpected token '<'\" (JSON), \"expected magic word 00 61 73 6d, "
                          "found 3c 21 44 4f\" (wasm), \"protobuf parsing failed\" (ONNX); transformers.js caches it for good",
                          fix});
    return true;
}

// Content types the loaders depend on; `type` is lower case.
void check_type(const HttpResponse& r, const std::string& path, ServerKind k, Verdict& v) {
    auto types = r.all("Content-Type");
    std::string type = types.empty() ? "" : to_lower(types[0]);
    if (spa_fallback(path, type, k, v)) return;
    std::string mime_fix = k == ServerKind::nginx ? "include mime.types; in http {} (Debian's maps .wasm, .js and .json)"
                           : k == ServerKind::modelhost ? "a route's headers sets Content-Type for this path: remove it"
                                                        : "serve the file with its standard type";
    if (path.ends_with(".wasm") && !type.starts_with("application/wasm"))
        v.failures.push_back({"a .wasm file served as '" + type + "'",
                              "Incorrect response MIME type. Expected 'application/wasm'. (WebAssembly streaming compile fails)",
                              mime_fix + " (application/wasm)"});
    bool nosniff = !r.all("X-Content-Type-Options").empty();
    if ((path.ends_with(".js") || path.ends_with(".mjs")) && nosniff && type.find("javascript") == std::string::npos)
        v.failures.push_back({"a script served as '" + type + "' with X-Content-Type-Options: nosniff",
                              "Refused to execute script because its MIME type ('" + type +
                                  "') is not executable, and strict MIME type checking is enabled.",
                              mime_fix + " (text/javascript)"});
    if (path.ends_with(".json") && !type.starts_with("application/json"))
        v.warnings.push_back({"model.json served as '" + type + "' (TF.js reads it anyway)", "", mime_fix + " (application/json)"});
}

void check_vary(const HttpResponse& r, ServerKind k, Verdict& v) {
    auto acao = r.all("Access-Control-Allow-Origin");
    if (acao.size() != 1 || acao[0] == "*") return;
    std::vector<std::string> vary;
    for (const auto& value : r.all("Vary")) for_each_list_item(value, [&](std::string_view t) { vary.emplace_back(t); return true; });
    if (std::any_of(vary.begin(), vary.end(), [](const std::string& t) { return t == "*" || equals_lower(t, "origin"); })) return;
    v.warnings.push_back({"Access-Control-Allow-Origin names an origin but Vary lacks Origin: a shared cache can hand this "
                          "answer to another site", "",
                          k == ServerKind::nginx ? "add_header Vary Origin always;" : "send Vary: Origin with every response"});
}

// The verdict records the last response's status and Server header.
ServerKind note_server(const HttpResponse& r, Verdict& v) {
    auto server = r.all("Server");
    v.status = r.status;
    v.server = server.empty() ? "" : server[0];
    return server_kind(r);
}

}  // namespace

ServerKind server_kind(const HttpResponse& r) {
    auto server = r.all("Server");
    std::string name = server.empty() ? "" : to_lower(server[0]);
    if (name.starts_with("modelhost")) return ServerKind::modelhost;
    if (name.starts_with("nginx")) return ServerKind::nginx;
    return ServerKind::other;
}

void diagnose_response(const HttpResponse& r, const std::string& path, const BrowserRequest& page, Verdict& v) {
    ServerKind k = note_server(r, v);
    CorsCheck c = check_cors(r, page);
    if (r.status >= 400 || r.status < 200) {
        v.failures.push_back(error_status(r, c, k, page));
        return;
    }
    const bool redirect = r.status >= 300 && r.status <= 399;
    if (redirect && r.all("Location").empty()) {
        v.failures.push_back({status_text(r.status) + " without a Location header",
                              "the page gets the " + std::to_string(r.status) + " itself; the model fails to load",
                              "answer 200 with the file, or send Location with the redirect"});
        return;
    }
    if (c.problem != CorsProblem::none) {
        std::string hop = redirect ? "the " + status_text(r.status) + " redirect: " : "";
        v.failures.push_back({hop + cause_of(c, page), chromium_says(c), fix_for(c, k, page)});
        return;
    }
    check_vary(r, k, v);
    if (r.status <= 299) check_type(r, path, k, v);
}

void diagnose_preflight(const HttpResponse& r, const BrowserRequest& page, Verdict& v) {
    ServerKind k = note_server(r, v);
    std::string requested = join(page.headers);
    const std::string prefix = "Response to preflight request doesn't pass access control check: ";
    if (r.status < 200 || r.status > 299) {
        std::string fix = k == ServerKind::nginx
            ? "nginx's static files answer OPTIONS with 405; in the location: if ($request_method = OPTIONS) { add_header "
              "Access-Control-Allow-Origin \"" + page.origin + "\" always; add_header Access-Control-Allow-Headers \"" +
              requested + "\" always; return 204; }"
            : k == ServerKind::modelhost
            ? "add \"" + page.origin + "\" to cors.allow_origins and " + requested + " to cors.allow_headers (modelhost "
              "answers an allowed preflight with 204, a refused one with 403)"
            : "answer OPTIONS with 204 and Access-Control-Allow-Origin, -Methods and -Headers";
        v.failures.push_back({"the preflight (OPTIONS, caused by the request header(s) " + requested + ") gets " +
                                  status_text(r.status), prefix + "It does not have HTTP ok status.", fix});
        return;
    }
    CorsCheck c = check_cors(r, page);
    if (c.problem != CorsProblem::none) {
        v.failures.push_back({"the preflight's answer: " + cause_of(c, page), prefix + chromium_says(c), fix_for(c, k, page)});
        return;
    }
    std::vector<std::string> allowed;
    for (const auto& value : r.all("Access-Control-Allow-Headers"))
        for_each_list_item(value, [&](std::string_view t) { allowed.push_back(to_lower(t)); return true; });
    for (const auto& h : page.headers) {
        bool star = !page.credentials && std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
        if (star || std::find(allowed.begin(), allowed.end(), to_lower(h)) != allowed.end()) continue;
        std::string fix = k == ServerKind::modelhost ? "add " + h + " to cors.allow_headers"
                          : k == ServerKind::nginx   ? "add " + h + " to add_header Access-Control-Allow-Headers \"...\" always;"
                                                     : "list " + h + " in Access-Control-Allow-Headers";
        v.failures.push_back({"the preflight does not allow the request header " + h,
                              "Request header field " + to_lower(h) + " is not allowed by Access-Control-Allow-Headers in "
                              "preflight response.", fix});
        return;
    }
}

Finding unreachable(const std::string& error) {
    bool tls = error.find("TLS handshake") != std::string::npos;
    return {error, "the request fails before any response (the page sees a network error, TF.js a failed fetch)",
            tls ? "serve a certificate chain browsers trust for this name (a private CA: pass --ca-file to check it here)"
                : "check the URL, that the server runs, and that this machine reaches it"};
}

}  // namespace modelhost::tools
