// Config loading: layering precedence and load errors that name the key, the source and what is valid.
#include "catch.hpp"

#include "config/load.hpp"
#include "http/cors.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

using namespace modelhost::config;
using modelhost::test::TempDir;

namespace {

// Loads `file_json` (if any) with the given env vars and flags; the root defaults to a real temp folder.
struct Loader {
    TempDir dir;
    std::map<std::string, std::string> env;
    std::vector<FlagValue> flags;

    Config load(const std::string& file_json = "") {
        LoadInput in;
        if (!file_json.empty()) in.file = dir.write("config.json", file_json).string();
        in.getenv = [this](const std::string& n) -> std::optional<std::string> {
            auto it = env.find(n);
            return it == env.end() ? std::nullopt : std::optional(it->second);
        };
        for (const auto& [k, v] : env) in.env_names.push_back(k);
        in.flags = flags;
        bool has_root = file_json.find("\"root\"") != std::string::npos || env.count("MODELHOST_ROOT");
        for (const auto& f : flags) has_root = has_root || f.flag == "--root";
        if (!has_root) in.flags.insert(in.flags.begin(), {"--root", dir.path().string()});
        return modelhost::config::load(in);
    }

    // The ConfigError message a load produces ("" if it loads), including the CORS compilation serve does next.
    std::string error(const std::string& file_json = "") {
        try {
            Config c = load(file_json);
            modelhost::http::CorsPolicy top(c.cors);
            for (const auto& r : c.routes)
                if (r.cors) modelhost::http::CorsPolicy route(*r.cors);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }
};

}  // namespace

TEST_CASE("with no file, env or flags every setting has its documented default", "[config]") {
    Loader l;
    Config c = l.load();
    CHECK(c.server.host == "127.0.0.1");
    CHECK(c.server.port == 8080);
    CHECK(c.server.threads == 0);
    CHECK(c.server.shutdown_timeout == 10.0);
    CHECK(c.cors.allow_origins == std::vector<std::string>{"*"});
    CHECK_FALSE(c.cors.allow_credentials);
    CHECK(c.cors.max_age == 7200);
    CHECK(c.headers == HeaderList{{"Cross-Origin-Resource-Policy", "cross-origin"}});
    CHECK(c.log.level == "info");
    CHECK(c.log.format == LogFormat::text);
}

TEST_CASE("precedence is defaults < file < env < flags, and each source is recorded", "[config]") {
    Loader l;
    const std::string file = R"({"server": {"port": 9000, "threads": 3}, "log": {"level": "debug"}})";
    CHECK(l.load(file).server.port == 9000);

    l.env["MODELHOST_PORT"] = "9100";
    Config env = l.load(file);
    CHECK(env.server.port == 9100);
    CHECK(env.server.threads == 3);
    CHECK(env.sources.at("server.port") == "MODELHOST_PORT");
    CHECK(env.sources.at("server.threads").ends_with("config.json"));

    l.flags.push_back({"--port", "9200"});
    Config flag = l.load(file);
    CHECK(flag.server.port == 9200);
    CHECK(flag.sources.at("server.port") == "--port");
    CHECK(flag.log.level == "debug");
}

TEST_CASE("origins come as a comma list from the env and as repeated flags", "[config]") {
    Loader l;
    l.env["MODELHOST_ALLOW_ORIGINS"] = "https://a.example, http://localhost:5173";
    CHECK(l.load().cors.allow_origins == std::vector<std::string>{"https://a.example", "http://localhost:5173"});
    l.flags.push_back({"--allow-origin", "https://b.example"});
    l.flags.push_back({"--allow-origin", "https://c.example"});
    CHECK(l.load().cors.allow_origins == std::vector<std::string>{"https://b.example", "https://c.example"});
}

TEST_CASE("an unknown key is an error naming the key and the valid ones", "[config]") {
    Loader l;
    std::string top = l.error(R"({"serve": {}})");
    CHECK_THAT(top, Catch::Contains("serve: unknown key"));
    CHECK_THAT(top, Catch::Contains("server, limits, cors"));
    CHECK_THAT(top, Catch::Contains("config.json"));
    CHECK_THAT(l.error(R"({"server": {"prot": 80}})"), Catch::Contains("server.prot: unknown key"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origin": ["*"]}})"), Catch::Contains("cors.allow_origin: unknown key"));
    CHECK_THAT(l.error(R"({"routes": [{"path": "/a/**", "cros": {}}]})"), Catch::Contains("routes[0].cros: unknown key"));
}

namespace {

// The valid keys an "unknown key" error lists ("...; valid keys here: a, b, c").
std::vector<std::string> valid_keys(Loader& l, const std::string& file_json) {
    std::string e = l.error(file_json);
    auto at = e.find("valid keys here: ");
    REQUIRE(at != std::string::npos);
    std::vector<std::string> keys;
    std::string rest = e.substr(at + 17);
    rest = rest.substr(0, rest.find(" ("));  // " (set in FILE)"
    for (std::size_t from = 0; from < rest.size();) {
        auto comma = rest.find(", ", from);
        keys.push_back(rest.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
        from = comma == std::string::npos ? rest.size() : comma + 2;
    }
    return keys;
}

const Setting* row(const std::string& key) {
    for (const auto& s : settings())
        if (key == s.key) return &s;
    return nullptr;
}

}  // namespace

TEST_CASE("every key the validation accepts has its row in the settings table, and every row is a valid key",
          "[config]") {
    Loader l;
    std::set<std::string> accepted;
    for (const auto& section : valid_keys(l, R"({"zz": 1})")) {
        if (l.error("{\"" + section + "\": {\"zz\": 1}}").find("valid keys here") == std::string::npos) {
            accepted.insert(section);  // not a section of keys: headers (any name), routes, cache_control, mirrors
            continue;
        }
        for (const auto& key : valid_keys(l, "{\"" + section + "\": {\"zz\": 1}}")) accepted.insert(section + "." + key);
    }
    REQUIRE(accepted.size() > 30);
    for (const auto& key : accepted) {
        INFO(key);
        CHECK(row(key) != nullptr);
    }
    for (const auto& s : settings()) {
        INFO(s.key);
        CHECK(accepted.contains(s.key));
    }
}

TEST_CASE("a reload names each restart-only setting it changed, and nothing for the settings it applies",
          "[config]") {
    Loader l;
    Config now = l.load();
    Config next = l.load(R"({"server": {"threads": 3}, "limits": {"header_timeout": 3}, "cors": {"max_age": 5},
                             "headers": {"X-A": "b"}, "mirrors": [{"path": "/m/", "upstream": "https://example.com/"}]})");
    CHECK(needs_restart(now, next) == std::vector<std::string>{"server.threads", "limits.header_timeout", "mirrors"});
    CHECK(needs_restart(now, now).empty());
    Config any_port = l.load(R"({"server": {"port": 0}})");
    CHECK(needs_restart(now, any_port).empty());  // port 0: keep the bound one
    // server.root: reloadable, unless mirrors store under it.
    const std::string other = R"("server": {"root": ")" + (l.dir.path() / "other").string() + R"("})";
    std::filesystem::create_directory(l.dir.path() / "other");
    Config other_root = l.load("{" + other + "}");
    CHECK(needs_restart(now, other_root).empty());
    const std::string mirror = R"("mirrors": [{"path": "/m/", "upstream": "https://example.com/"}])";
    Config mirrored = l.load("{" + mirror + "}");
    Config mirrored_elsewhere = l.load("{" + other + ", " + mirror + "}");
    CHECK(needs_restart(mirrored, mirrored_elsewhere) == std::vector<std::string>{"server.root"});
}

TEST_CASE("the settings away from their default are told apart from those set to it", "[config]") {
    Loader l;
    Config c = l.load(R"({"server": {"port": 8080, "threads": 2}, "cors": {"max_age": 7200}, "log": {"level": "debug"},
                          "cache_control": [{"path": "/npm/@*/*@*/**", "value": "public, max-age=31536000, immutable"},
                                            {"path": "/npm/@*/**", "value": "public, max-age=86400"},
                                            {"path": "/npm/*@*/**", "value": "public, max-age=31536000, immutable"},
                                            {"path": "*.json", "value": "no-cache"}, {"path": "**", "value": "public, max-age=86400"}]})");
    CHECK(not_default(c, {"server", "server.port", "server.threads", "cors.max_age", "log.level", "cache_control"}) ==
          std::vector<std::string>{"server.threads", "log.level"});
}

TEST_CASE("wrong types and out-of-range values name the key and what is valid", "[config]") {
    Loader l;
    CHECK_THAT(l.error(R"({"server": {"port": "80"}})"), Catch::Contains("server.port: must be an integer from 0 to 65535"));
    CHECK_THAT(l.error(R"({"server": {"port": 70000}})"), Catch::Contains("server.port: must be an integer"));
    CHECK_THAT(l.error(R"({"server": 5})"), Catch::Contains("server: must be a JSON object"));
    CHECK_THAT(l.error(R"({"cors": {"allow_credentials": "yes"}})"), Catch::Contains("cors.allow_credentials: must be true or false"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["*", 3]}})"), Catch::Contains("cors.allow_origins[1]: must be a string"));
    CHECK_THAT(l.error(R"({"limits": {"header_timeout": 0}})"), Catch::Contains("limits.header_timeout: must be a number of seconds"));
    CHECK_THAT(l.error(R"({"log": {"level": "loud"}})"), Catch::Contains("log.level: must be one of"));
    CHECK_THAT(l.error(R"({"log": {"format": "xml"}})"), Catch::Contains("log.format: must be \"text\" or \"json\""));
    CHECK_THAT(l.error(R"({"routes": [{"path": "private/**"}]})"), Catch::Contains("routes[0].path: must start with \"/\""));
    CHECK_THAT(l.error(R"({"routes": [{"cors": {}}]})"), Catch::Contains("routes[0].path: is required"));
}

TEST_CASE("headers may not set framing or CORS headers", "[config]") {
    Loader l;
    CHECK_THAT(l.error(R"({"headers": {"Content-Length": "5"}})"), Catch::Contains("headers.Content-Length: is a framing header"));
    CHECK_THAT(l.error(R"({"headers": {"transfer-encoding": "chunked"}})"), Catch::Contains("headers.transfer-encoding: is a framing header"));
    CHECK_THAT(l.error(R"({"headers": {"Connection": "close"}})"), Catch::Contains("headers.Connection: is a framing header"));
    CHECK_THAT(l.error(R"({"headers": {"Access-Control-Allow-Origin": "*"}})"), Catch::Contains("cors section"));
    CHECK_THAT(l.error(R"({"headers": {"X-Bad": "a\r\nInjected: 1"}})"), Catch::Contains("headers.X-Bad: must not contain line breaks"));
    CHECK_THAT(l.error(R"({"headers": {"Bad Name": "x"}})"), Catch::Contains("is not a valid header name"));
    CHECK(l.load(R"({"headers": {"Cross-Origin-Embedder-Policy": "require-corp"}})").headers.size() == 1);
}

TEST_CASE("a missing root, bad JSON and bad env values are errors naming their source, unknown env vars warnings", "[config]") {
    Loader l;
    std::string root = l.error(R"({"server": {"root": "/nonexistent/models"}})");
    CHECK_THAT(root, Catch::Contains("server.root: \"/nonexistent/models\" is not a readable directory"));
    CHECK_THAT(l.error(R"({"server": {"port": 80,}})"), Catch::Contains("config.json: not valid JSON"));
    CHECK_THAT(l.error("[1, 2]"), Catch::Contains("must be a JSON object"));

    Loader e;
    e.env["MODELHOST_PORT"] = "eighty";
    CHECK_THAT(e.error(), Catch::Contains("MODELHOST_PORT: expected integer for server.port, got \"eighty\""));
    Loader u;
    u.env["MODELHOST_PROT"] = "80";
    auto warned = u.load();  // a warning, not an error: Kubernetes injects MODELHOST_PORT_8080_TCP and friends
    REQUIRE(warned.warnings.size() == 1);
    CHECK_THAT(warned.warnings[0], Catch::Contains("MODELHOST_PROT is not a modelhost setting"));
    Loader f;
    f.flags.push_back({"--prot", "80"});
    CHECK_THAT(f.error(), Catch::Contains("--prot: unknown option"));
    Loader src;
    src.env["MODELHOST_PORT"] = "99999";
    CHECK_THAT(src.error(), Catch::Contains("server.port: must be an integer from 0 to 65535, got 99999 (set in MODELHOST_PORT)"));
}

TEST_CASE("every env setting and flag in the table maps to a real config key", "[config]") {
    for (const auto& s : settings()) {
        if (!s.env) continue;  // a key only a config file sets
        INFO(s.key);
        CHECK(std::string(s.env).starts_with("MODELHOST_"));
        Loader l;
        const std::string kind = s.kind;
        std::string value = kind == "boolean" ? "true" : kind == "integer" ? "1" : kind == "number" ? "1.5" : kind == "list" ? "GET" : "info";
        if (std::string(s.key) == "server.root") value = l.dir.path().string();
        if (std::string(s.key) == "server.host") value = "127.0.0.1";
        if (std::string(s.key) == "log.format") value = "json";
        if (std::string(s.key) == "server.etag") value = "content";
        if (std::string(s.key) == "health.prefix") value = "/.hc";
        if (std::string(s.key).starts_with("tls.")) {  // both files or neither
            const std::string pem = l.dir.write("tls.pem", "x").string();
            l.env["MODELHOST_TLS_CERT_FILE"] = l.env["MODELHOST_TLS_KEY_FILE"] = pem;
            if (std::string(s.key).ends_with("_file")) value = pem;
        }
        if (std::string(s.key) == "limits.max_header_bytes") value = "4096";
        if (std::string(s.key) == "cors.allow_origins") value = "https://app.example.com";
        if (std::string(s.key) == "cors.allow_credentials") l.env["MODELHOST_ALLOW_ORIGINS"] = "https://app.example.com";
        if (std::string(s.key) == "cors.allow_headers" || std::string(s.key) == "cors.expose_headers") value = "Range";
        l.env[s.env] = value;
        CHECK(l.error() == "");
    }
}

TEST_CASE("CORS settings are checked at load and errors name the entry", "[config][cors]") {
    Loader l;
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["https://ok.example", "https://*.*.com"]}})"),
               Catch::Contains("cors.allow_origins[1]: \"https://*.*.com\" has more than one wildcard"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["https://*.example.com:*"]}})"), Catch::Contains("more than one wildcard"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["https://app.example.com/"]}})"),
               Catch::Contains("cors.allow_origins[0]: \"https://app.example.com/\" is not an origin"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["app.example.com"]}})"), Catch::Contains("is not an origin"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["https://a.com:99999"]}})"), Catch::Contains("invalid port"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["https://*"]}})"), Catch::Contains("leftmost label"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["https://a.*.com"]}})"), Catch::Contains("leftmost label"));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["*"], "allow_credentials": true}})"),
               Catch::Contains("cors.allow_credentials: true cannot be combined with allow_origins \"*\""));
    CHECK_THAT(l.error(R"({"cors": {"allow_origins": ["*", "https://a.com"]}})"), Catch::Contains("already allows every origin"));
    CHECK_THAT(l.error(R"({"cors": {"allow_methods": ["GET", "FETCH"]}})"),
               Catch::Contains("cors.allow_methods[1]: \"FETCH\" is not a method modelhost serves"));
    CHECK_THAT(l.error(R"({"cors": {"allow_methods": ["get"]}})"), Catch::Contains("upper case"));
    CHECK_THAT(l.error(R"({"cors": {"allow_headers": ["Range", "bad header"]}})"),
               Catch::Contains("cors.allow_headers[1]: \"bad header\" is not a valid header name"));
    CHECK_THAT(l.error(R"({"routes": [{"path": "/p/**", "cors": {"allow_origins": ["*"], "allow_credentials": true}}]})"),
               Catch::Contains("routes[0].cors.allow_credentials"));
    l.env["MODELHOST_ALLOW_ORIGINS"] = "https://ok.example,https://*.*.bad";
    CHECK_THAT(l.error(), Catch::Contains("cors.allow_origins[1]"));
    CHECK_THAT(l.error(), Catch::Contains("MODELHOST_ALLOW_ORIGINS"));
}

TEST_CASE("a route changes only the cors keys it names, the rest come from the top level", "[config][cors]") {
    Loader l;
    Config c = l.load(R"({"cors": {"allow_origins": ["https://top.example"], "max_age": 60, "expose_headers": ["ETag"]},
                          "routes": [{"path": "/private/**", "cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": true}},
                                     {"path": "/demo/*", "cors": {"max_age": 5}}]})");
    REQUIRE(c.routes.size() == 2);
    REQUIRE(c.routes[0].cors.has_value());
    CHECK(c.routes[0].cors->allow_origins == std::vector<std::string>{"https://app.example.com"});
    CHECK(c.routes[0].cors->max_age == 60);  // the top level's, not the built-in 7200
    CHECK(c.routes[0].cors->expose_headers == std::vector<std::string>{"ETag"});
    CHECK_FALSE(c.routes[0].headers.has_value());
    REQUIRE(c.routes[1].cors.has_value());
    CHECK(c.routes[1].cors->allow_origins == std::vector<std::string>{"https://top.example"});  // never "*"
    CHECK(c.routes[1].cors->max_age == 5);
    // Adding credentials is wider than the top level: a start-up warning names it.
    CHECK(std::any_of(c.warnings.begin(), c.warnings.end(),
                      [](const std::string& w) { return w.find("routes[0].cors.allow_credentials") != std::string::npos; }));
}

TEST_CASE("a route's headers merge over the top-level headers, null removes one", "[config]") {
    Loader l;
    Config c = l.load(R"({"headers": {"Cross-Origin-Resource-Policy": "cross-origin", "X-Team": "a"},
                          "routes": [{"path": "/a/**", "headers": {"x-team": "b", "X-Extra": "1"}},
                                     {"path": "/b/**", "headers": {"X-Team": null}}]})");
    REQUIRE(c.routes[0].headers.has_value());
    CHECK(*c.routes[0].headers == HeaderList{{"Cross-Origin-Resource-Policy", "cross-origin"}, {"X-Extra", "1"}, {"x-team", "b"}});
    CHECK(*c.routes[1].headers == HeaderList{{"Cross-Origin-Resource-Policy", "cross-origin"}});
    CHECK_THAT(l.error(R"({"headers": {"X-Team": null}})"), Catch::Contains("headers.X-Team: must be a string"));
}

TEST_CASE("a route widening an allow-list to \"*\" is loaded with a warning", "[config][cors]") {
    Loader l;
    Config c = l.load(R"({"cors": {"allow_origins": ["https://top.example"]}, "routes": [{"path": "/pub/**", "cors": {"allow_origins": ["*"]}}]})");
    CHECK(std::any_of(c.warnings.begin(), c.warnings.end(),
                      [](const std::string& w) { return w.find("routes[0].cors.allow_origins") != std::string::npos; }));
}

TEST_CASE("config/modelhost.json lists every setting, each with its built-in default", "[config]") {
    const std::string path = std::string(MODELHOST_SOURCE_DIR) + "/config/modelhost.json";
    std::ifstream in(path);
    auto doc = nlohmann::json::parse(in);
    for (const auto& s : settings()) {
        INFO(s.key);
        std::string pointer = "/" + std::string(s.key);
        std::replace(pointer.begin(), pointer.end(), '.', '/');
        CHECK(doc.contains(nlohmann::json::json_pointer(pointer)));
    }
    for (const char* section : {"headers", "routes", "cache_control"}) CHECK(doc.contains(section));

    Loader l;
    Config defaults = l.load();
    LoadInput file_input;
    file_input.file = path;
    file_input.flags = {{"--root", l.dir.path().string()}};
    Config file = modelhost::config::load(file_input);
    CHECK(file.server.host == defaults.server.host);
    CHECK(file.server.ipv6_only == defaults.server.ipv6_only);
    CHECK(file.server.port == defaults.server.port);
    CHECK(file.server.threads == defaults.server.threads);
    CHECK(file.server.shutdown_timeout == defaults.server.shutdown_timeout);
    CHECK(file.server.sendfile_min_bytes == defaults.server.sendfile_min_bytes);
    CHECK(file.limits.max_header_bytes == defaults.limits.max_header_bytes);
    CHECK(file.limits.max_body_bytes == defaults.limits.max_body_bytes);
    CHECK(file.limits.header_timeout == defaults.limits.header_timeout);
    CHECK(file.limits.keepalive_timeout == defaults.limits.keepalive_timeout);
    CHECK(file.limits.send_timeout == defaults.limits.send_timeout);
    CHECK(file.limits.max_connections == defaults.limits.max_connections);
    CHECK(file.limits.max_requests_per_connection == defaults.limits.max_requests_per_connection);
    CHECK(file.cors.allow_origins == defaults.cors.allow_origins);
    CHECK(file.cors.allow_methods == defaults.cors.allow_methods);
    CHECK(file.cors.allow_headers == defaults.cors.allow_headers);
    CHECK(file.cors.expose_headers == defaults.cors.expose_headers);
    CHECK(file.cors.max_age == defaults.cors.max_age);
    CHECK(file.cors.allow_credentials == defaults.cors.allow_credentials);
    CHECK(file.cors.allow_private_network == defaults.cors.allow_private_network);
    CHECK(file.headers == defaults.headers);
    CHECK(file.routes.empty());
    REQUIRE(file.cache_control.size() == defaults.cache_control.size());
    for (std::size_t i = 0; i < file.cache_control.size(); ++i) {
        CHECK(file.cache_control[i].path == defaults.cache_control[i].path);
        CHECK(file.cache_control[i].value == defaults.cache_control[i].value);
    }
    CHECK(file.compression.precompressed == defaults.compression.precompressed);
    CHECK(file.compression.gzip == defaults.compression.gzip);
    CHECK(file.compression.gzip_max_bytes == defaults.compression.gzip_max_bytes);
    CHECK(file.compression.gzip_cache_bytes == defaults.compression.gzip_cache_bytes);
    CHECK(file.health.prefix == defaults.health.prefix);
    CHECK_FALSE(file.tls.enabled());
    CHECK(file.log.level == defaults.log.level);
    CHECK(file.log.access_log == defaults.log.access_log);
    CHECK(file.log.format == defaults.log.format);
}

TEST_CASE("tls needs both files, and they must exist", "[config]") {
    Loader l;
    auto cert = l.dir.write("cert.pem", "x").string();
    CHECK_THAT(l.error(R"({"tls": {"cert_file": ")" + cert + R"("}})"), Catch::Contains("tls.key_file: is needed too"));
    CHECK_THAT(l.error(R"({"tls": {"cert_file": ")" + cert + R"(", "key_file": "/nonexistent.key"}})"),
               Catch::Contains("tls.key_file: \"/nonexistent.key\" is not a readable file"));
    CHECK(l.load(R"({"tls": {"cert_file": ")" + cert + R"(", "key_file": ")" + cert + R"("}})").tls.enabled());
}

TEST_CASE("a key holding a NUL or control character is named in full, escaped (found by fuzz_config)", "[config]") {
    Loader l;
    CHECK_THAT(l.error(R"({"cors": {"al\u0000x\n": 1}})"), Catch::Contains("cors.al\\x00x\\x0a: unknown key"));
}

TEST_CASE("relative paths in a config file are taken from its folder, in flags and env from the working directory", "[config]") {
    Loader l;
    std::filesystem::create_directories(l.dir.path() / "served");
    LoadInput in;
    in.file = l.dir.write("conf/c.json", R"({"server": {"root": "../served"}})").string();
    Config c = modelhost::config::load(in);
    CHECK(c.server.root == (l.dir.path() / "served").lexically_normal().string());
    in.flags = {{"--root", "."}};
    CHECK(modelhost::config::load(in).server.root == ".");  // a flag keeps its meaning for the shell that typed it
}

TEST_CASE("the shipped configs load: the image's and the package's (absolute root, every key)", "[config]") {
    for (const char* name : {"config/docker.json", "packaging/modelhost.json"}) {
        INFO(name);
        LoadInput in;
        in.file = std::string(MODELHOST_SOURCE_DIR) + "/" + name;
        in.check_files = false;  // their roots exist only where they are deployed
        Config c = modelhost::config::load(in);
        CHECK(c.server.host == "0.0.0.0");
        CHECK(c.server.port == 8080);
        CHECK(c.server.root.starts_with('/'));
    }
    std::ifstream in(std::string(MODELHOST_SOURCE_DIR) + "/packaging/modelhost.json");
    auto doc = nlohmann::json::parse(in);
    for (const auto& s : settings()) {
        std::string pointer = "/" + std::string(s.key);
        std::replace(pointer.begin(), pointer.end(), '.', '/');
        CHECK(doc.contains(nlohmann::json::json_pointer(pointer)));
    }
}

TEST_CASE("mirrors: a folder path, an http(s) upstream ending in '/', no overlap, typed options", "[config][mirror]") {
    Loader l;
    l.dir.write("ca.pem", "a CA");
    auto m = l.load(R"({"mirrors": [{"path": "/tfhub/", "upstream": "https://tfhub.dev/", "max_bytes": 1000, "ca_file": "ca.pem"}]})").mirrors;
    REQUIRE(m.size() == 1);
    CHECK(m[0].path == "/tfhub/");
    CHECK(m[0].max_bytes == 1000);
    CHECK(m[0].revalidate == std::vector<std::string>{"*.json"});
    CHECK(m[0].ca_file == (l.dir.path() / "ca.pem").string());  // relative to the config file's folder
    auto mirror = [](const std::string& inner) { return R"({"mirrors": [{)" + inner + "}]}"; };
    CHECK_THAT(l.error(mirror(R"("path": "/hub/")")), Catch::Contains("mirrors[0]: needs \"path\""));
    CHECK_THAT(l.error(mirror(R"("path": "hub/", "upstream": "https://a.example/")")), Catch::Contains("mirrors[0].path: must be a folder path"));
    CHECK_THAT(l.error(mirror(R"("path": "/.hub/", "upstream": "https://a.example/")")), Catch::Contains("mirrors[0].path: must be a folder path"));
    CHECK_THAT(l.error(mirror(R"("path": "/hub", "upstream": "https://a.example/")")), Catch::Contains("mirrors[0].path: must be a folder path"));
    CHECK_THAT(l.error(mirror(R"("path": "/hub/", "upstream": "ftp://a.example/")")), Catch::Contains("mirrors[0].upstream: must be an http:// or https:// URL"));
    CHECK_THAT(l.error(mirror(R"("path": "/hub/", "upstream": "https://a.example")")), Catch::Contains("mirrors[0].upstream: must be an http:// or https:// URL ending in '/'"));
    CHECK_THAT(l.error(mirror(R"("path": "/hub/", "upstream": "https://a.example/?x=1")")), Catch::Contains("without query"));
    CHECK_THAT(l.error(mirror(R"("path": "/hub/", "upstream": "https://a.example/", "timeout": 0)")), Catch::Contains("mirrors[0].timeout: must be a number of seconds"));
    CHECK_THAT(l.error(mirror(R"("path": "/hub/", "upstream": "https://a.example/", "colour": 1)")), Catch::Contains("mirrors[0].colour: unknown key"));
    CHECK_THAT(l.error(R"({"mirrors": [{"path": "/hub/", "upstream": "https://a.example/"}, {"path": "/hub/x/", "upstream": "https://b.example/"}]})"),
               Catch::Contains("mirrors[1].path: \"/hub/x/\" overlaps mirrors[0]"));
}
