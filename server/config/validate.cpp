// Stage two of loading: every key of the merged document is known, typed and in range, or it is an error.
#include "config/layers.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

namespace modelhost::config {

using json = nlohmann::json;

namespace {

// A key as it can be printed: control characters (a NUL would cut the message short) as \xNN.
std::string printable(const std::string& key) {
    std::string out;
    for (char ch : key) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != 0x7f) {
            out += ch;
            continue;
        }
        static constexpr char hex[] = "0123456789abcdef";
        out += {'\\', 'x', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

// Error helpers that name the key and the layer that set it.
class Checker {
public:
    explicit Checker(const Layered& raw) : raw_(raw) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        std::string msg = printable(key) + ": " + what;
        if (auto src = source_of(key); !src.empty()) msg += " (set in " + src + ")";
        throw ConfigError(msg);
    }

    // Every key of `obj` must be one of `known`.
    void keys(const json& obj, const std::string& path, std::initializer_list<std::string_view> known) const {
        if (!obj.is_object()) fail(path, "must be a JSON object, got " + brief(obj));
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
            fail(join(path, it.key()), "unknown key; valid keys here: " + modelhost::join(known));
        }
    }

    void get(const json& obj, const std::string& path, const char* key, std::string& out) const {
        if (!obj.contains(key)) return;
        const json& v = obj.at(key);
        if (!v.is_string()) fail(join(path, key), "must be a string, got " + brief(v));
        out = v.get<std::string>();
    }

    void get(const json& obj, const std::string& path, const char* key, bool& out) const {
        if (!obj.contains(key)) return;
        const json& v = obj.at(key);
        if (!v.is_boolean()) fail(join(path, key), "must be true or false, got " + brief(v));
        out = v.get<bool>();
    }

    template <class Int>
    void get_int(const json& obj, const std::string& path, const char* key, Int& out, long long lo, long long hi) const {
        if (!obj.contains(key)) return;
        const json& v = obj.at(key);
        if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi)
            fail(join(path, key), "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                                      ", got " + brief(v));
        out = static_cast<Int>(v.get<long long>());
    }

    void get_seconds(const json& obj, const std::string& path, const char* key, double& out) const {
        if (!obj.contains(key)) return;
        const json& v = obj.at(key);
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0 || v.get<double>() > 86400)
            fail(join(path, key), "must be a number of seconds above 0 and at most 86400, got " + brief(v));
        out = v.get<double>();
    }

    void get(const json& obj, const std::string& path, const char* key, std::vector<std::string>& out) const {
        if (!obj.contains(key)) return;
        const json& v = obj.at(key);
        std::string k = join(path, key);
        if (!v.is_array()) fail(k, "must be an array of strings, got " + brief(v));
        out.clear();
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string()) fail(k + "[" + std::to_string(i) + "]", "must be a string, got " + brief(v[i]));
            out.push_back(v[i].get<std::string>());
        }
    }

    static std::string join(const std::string& path, std::string_view key) {
        return path.empty() ? std::string(key) : path + "." + std::string(key);
    }

    static std::string brief(const json& v) {
        std::string s = v.dump();
        return s.size() > 60 ? s.substr(0, 57) + "..." : s;
    }

    // The most specific recorded source of `key` or of one of its parents ("" when built in).
    std::string source(const std::string& key) const { return source_of(key); }

private:
    std::string source_of(std::string key) const {
        for (;;) {
            if (auto it = raw_.sources.find(key); it != raw_.sources.end()) return it->second;
            auto cut = key.find_last_of(".[");
            if (cut == std::string::npos) return {};
            key.resize(cut);
        }
    }

    const Layered& raw_;
};

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    });
}

// `base` holds the inherited headers (none at the top level): an entry with the same name (any case) replaces one,
// a route's null removes one.
HeaderList read_headers(const Checker& c, const json& obj, const std::string& path, HeaderList base = {}) {
    if (!obj.is_object()) c.fail(path, "must be an object of header name -> value, got " + Checker::brief(obj));
    HeaderList out = std::move(base);
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        std::string key = path + "." + it.key();
        std::string name = to_lower(it.key());
        std::erase_if(out, [&](const auto& h) { return to_lower(h.first) == name; });
        if (!is_token(it.key())) c.fail(key, "is not a valid header name");
        if (name == "content-length" || name == "transfer-encoding" || name == "connection" || name == "keep-alive" ||
            name == "upgrade" || name == "te" || name == "trailer")
            c.fail(key, "is a framing header that the server sets itself; remove it");
        if (name.starts_with("access-control-") || name == "vary")
            c.fail(key, "is decided by the cors section; configure CORS there instead");
        if (it->is_null() && path != "headers") continue;  // a route removes an inherited header
        if (!it->is_string()) c.fail(key, "must be a string" + std::string(path == "headers" ? "" : " (or null to remove an inherited header)") + ", got " + Checker::brief(*it));
        auto value = it->get<std::string>();
        if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos)
            c.fail(key, "must not contain line breaks or NUL");
        out.emplace_back(it.key(), value);
    }
    return out;
}

// "*" alone, and never together with credentials. Each entry's syntax is checked when http::CorsPolicy compiles it.
void check_origins(const Checker& c, const std::string& path, CorsConfig& cors) {
    bool any = std::find(cors.allow_origins.begin(), cors.allow_origins.end(), "*") != cors.allow_origins.end();
    if (any && cors.allow_origins.size() > 1)
        c.fail(path + ".allow_origins", "\"*\" already allows every origin; remove it or the other entries");
    if (any && cors.allow_credentials)
        c.fail(path + ".allow_credentials", "true cannot be combined with allow_origins \"*\" (browsers reject a "
                                            "wildcard with credentials); list the allowed origins instead");
}

// Header names in a list must be tokens (or "*").
void check_names(const Checker& c, const std::string& key, const std::vector<std::string>& names) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] != "*" && !is_token(names[i]))
            c.fail(key + "[" + std::to_string(i) + "]", "\"" + names[i] + "\" is not a valid header name");
}

// `base` supplies every key the object does not set: the built-in defaults for the top level, the top-level
// policy for a route (a route changes only what it names; never the nginx add_header trap of dropping the rest).
CorsConfig read_cors(const Checker& c, const json& obj, const std::string& path, const CorsConfig& base) {
    c.keys(obj, path, {"allow_origins", "allow_credentials", "allow_methods", "allow_headers", "expose_headers",
                       "max_age", "allow_private_network"});
    CorsConfig cors = base;
    c.get(obj, path, "allow_origins", cors.allow_origins);
    c.get(obj, path, "allow_credentials", cors.allow_credentials);
    c.get(obj, path, "allow_methods", cors.allow_methods);
    c.get(obj, path, "allow_headers", cors.allow_headers);
    c.get(obj, path, "expose_headers", cors.expose_headers);
    c.get_int(obj, path, "max_age", cors.max_age, 0, 86400);
    c.get(obj, path, "allow_private_network", cors.allow_private_network);
    if (obj.contains("allow_origins")) {
        cors.key = path;
        cors.origins_source = c.source(path + ".allow_origins");
    }
    check_origins(c, path, cors);
    for (std::size_t i = 0; i < cors.allow_methods.size(); ++i) {
        const auto& m = cors.allow_methods[i];
        if (m != "GET" && m != "HEAD" && m != "OPTIONS")
            c.fail(path + ".allow_methods[" + std::to_string(i) + "]",
                   "\"" + m + "\" is not a method modelhost serves; use GET, HEAD or OPTIONS (upper case)");
    }
    check_names(c, path + ".allow_headers", cors.allow_headers);
    check_names(c, path + ".expose_headers", cors.expose_headers);
    return cors;
}

void read_server(const Checker& c, const json& obj, ServerConfig& s, bool check_files, bool root_optional) {
    c.keys(obj, "server", {"host", "ipv6_only", "port", "root", "threads", "shutdown_timeout", "sendfile_min_bytes", "pid_file", "etag"});
    c.get(obj, "server", "host", s.host);
    c.get(obj, "server", "ipv6_only", s.ipv6_only);
    if (s.host.empty()) c.fail("server.host", "must not be empty; use 0.0.0.0 for all IPv4 interfaces");
    c.get_int(obj, "server", "port", s.port, 0, 65535);
    c.get(obj, "server", "root", s.root);
    c.get_int(obj, "server", "threads", s.threads, 0, 1024);
    c.get_seconds(obj, "server", "shutdown_timeout", s.shutdown_timeout);
    c.get_int(obj, "server", "sendfile_min_bytes", s.sendfile_min_bytes, 0, 1ll << 40);
    c.get(obj, "server", "pid_file", s.pid_file);
    std::string etag = "mtime";
    c.get(obj, "server", "etag", etag);
    if (etag != "mtime" && etag != "content") c.fail("server.etag", "must be \"mtime\" or \"content\"; got \"" + etag + "\"");
    s.etag = etag == "content" ? ServerConfig::Etag::content : ServerConfig::Etag::mtime;
    std::error_code ec;
    if (check_files && !(root_optional && s.root.empty()) && !std::filesystem::is_directory(s.root, ec))
        c.fail("server.root", "\"" + s.root + "\" is not a readable directory; pass --root DIR or set server.root");
}

void read_limits(const Checker& c, const json& obj, LimitsConfig& l) {
    c.keys(obj, "limits", {"max_header_bytes", "max_body_bytes", "header_timeout", "keepalive_timeout", "send_timeout",
                           "max_connections", "max_requests_per_connection"});
    c.get_int(obj, "limits", "max_header_bytes", l.max_header_bytes, 1024, 1 << 20);
    c.get_int(obj, "limits", "max_body_bytes", l.max_body_bytes, 0, 1 << 30);
    c.get_seconds(obj, "limits", "header_timeout", l.header_timeout);
    c.get_seconds(obj, "limits", "keepalive_timeout", l.keepalive_timeout);
    c.get_seconds(obj, "limits", "send_timeout", l.send_timeout);
    c.get_int(obj, "limits", "max_connections", l.max_connections, 1, 1000000);
    c.get_int(obj, "limits", "max_requests_per_connection", l.max_requests_per_connection, 1, 100000000);
}

void read_log(const Checker& c, const json& obj, LogConfig& l) {
    c.keys(obj, "log", {"level", "access_log", "format"});
    c.get(obj, "log", "level", l.level);
    static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (std::find(levels.begin(), levels.end(), l.level) == levels.end())
        c.fail("log.level", "must be one of trace, debug, info, warn, error, critical, off; got \"" + l.level + "\"");
    c.get(obj, "log", "access_log", l.access_log);
    std::string format = "text";
    c.get(obj, "log", "format", format);
    if (format != "text" && format != "json") c.fail("log.format", "must be \"text\" or \"json\"; got \"" + format + "\"");
    l.format = format == "json" ? LogFormat::json : LogFormat::text;
}

// What makes a route answer more origins than the top level: worth a start-up warning, since it is rarely meant.
void warn_if_wider(const CorsConfig& top, const CorsConfig& route, const std::string& path, std::vector<std::string>& warnings) {
    bool top_any = top.allow_origins == std::vector<std::string>{"*"};
    if (!top_any && route.allow_origins == std::vector<std::string>{"*"})
        warnings.push_back(path + ".cors.allow_origins: \"*\" allows every origin where the top level allows a list");
    if (route.allow_credentials && !top.allow_credentials)
        warnings.push_back(path + ".cors.allow_credentials: true where the top level sends no credentials");
}

// Every key a route does not set is inherited from the top level (cors keys one by one, headers entry by entry).
std::vector<RouteConfig> read_routes(const Checker& c, const json& arr, const Config& top, std::vector<std::string>& warnings) {
    if (!arr.is_array()) c.fail("routes", "must be an array of {\"path\": ..., \"cors\": ..., \"headers\": ...}");
    std::vector<RouteConfig> routes;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        std::string path = "routes[" + std::to_string(i) + "]";
        const json& r = arr[i];
        c.keys(r, path, {"path", "cors", "headers"});
        RouteConfig route;
        if (!r.contains("path")) c.fail(path + ".path", "is required (a glob such as \"/private/**\")");
        c.get(r, path, "path", route.path);
        if (!route.path.starts_with("/")) c.fail(path + ".path", "must start with \"/\", got \"" + route.path + "\"");
        if (route.path.find("***") != std::string::npos) c.fail(path + ".path", "has \"***\"; use * (one folder) or ** (any depth)");
        if (r.contains("cors")) {
            route.cors = read_cors(c, r.at("cors"), path + ".cors", top.cors);
            warn_if_wider(top.cors, *route.cors, path, warnings);
        }
        if (r.contains("headers")) route.headers = read_headers(c, r.at("headers"), path + ".headers", top.headers);
        routes.push_back(std::move(route));
    }
    return routes;
}

void read_tls(const Checker& c, const json& obj, TlsConfig& t, bool check_files) {
    c.keys(obj, "tls", {"cert_file", "key_file", "ticket_key_rotation"});
    c.get_seconds(obj, "tls", "ticket_key_rotation", t.ticket_key_rotation);
    c.get(obj, "tls", "cert_file", t.cert_file);
    c.get(obj, "tls", "key_file", t.key_file);
    if (t.cert_file.empty() != t.key_file.empty())
        c.fail(t.cert_file.empty() ? "tls.cert_file" : "tls.key_file", "is needed too: set both cert_file and key_file, or neither");
    for (const auto& [key, file] : {std::pair{"tls.cert_file", t.cert_file}, std::pair{"tls.key_file", t.key_file}}) {
        std::error_code ec;
        if (check_files && !file.empty() && !std::filesystem::is_regular_file(file, ec)) c.fail(key, "\"" + file + "\" is not a readable file");
    }
}

std::vector<CacheControlRule> read_cache_control(const Checker& c, const json& arr) {
    if (!arr.is_array()) c.fail("cache_control", "must be an array of {\"path\": glob, \"value\": Cache-Control value}");
    std::vector<CacheControlRule> rules;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        std::string path = "cache_control[" + std::to_string(i) + "]";
        c.keys(arr[i], path, {"path", "value"});
        CacheControlRule rule;
        if (!arr[i].contains("path") || !arr[i].contains("value")) c.fail(path, "needs both \"path\" and \"value\"");
        c.get(arr[i], path, "path", rule.path);
        c.get(arr[i], path, "value", rule.value);
        if (rule.path.empty() || rule.path.find("***") != std::string::npos)
            c.fail(path + ".path", "must be a glob such as \"*.json\" (file names) or \"/v1/**\" (paths)");
        if (rule.value.find_first_of("\r\n") != std::string::npos) c.fail(path + ".value", "must not contain line breaks");
        rules.push_back(std::move(rule));
    }
    return rules;
}

MirrorConfig read_mirror(const Checker& c, const json& obj, const std::string& key, bool check_files) {
    c.keys(obj, key, {"path", "upstream", "kind", "ca_file", "revalidate", "revalidate_after", "not_found_ttl", "timeout",
                      "max_bytes", "max_file_bytes", "offline"});
    MirrorConfig m;
    m.key = key;
    if (!obj.contains("path") || !obj.contains("upstream")) c.fail(key, "needs \"path\" (\"/tfhub/\") and \"upstream\" (\"https://tfhub.dev/\")");
    c.get(obj, key, "path", m.path);
    c.get(obj, key, "upstream", m.upstream);
    c.get(obj, key, "ca_file", m.ca_file);
    c.get(obj, key, "revalidate", m.revalidate);
    c.get_seconds(obj, key, "revalidate_after", m.revalidate_after);
    c.get_seconds(obj, key, "not_found_ttl", m.not_found_ttl);
    c.get_seconds(obj, key, "timeout", m.timeout);
    c.get_int(obj, key, "max_bytes", m.max_bytes, 0, std::numeric_limits<long long>::max());
    c.get_int(obj, key, "max_file_bytes", m.max_file_bytes, 1, std::numeric_limits<long long>::max());
    c.get(obj, key, "offline", m.offline);
    std::string kind = "tfjs";
    c.get(obj, key, "kind", kind);
    if (kind == "huggingface") m.kind = MirrorConfig::Kind::huggingface;
    else if (kind == "npm") m.kind = MirrorConfig::Kind::npm;
    else if (kind != "tfjs")
        c.fail(key + ".kind", "must be \"tfjs\" (files by path, the default), \"huggingface\" (a hub: resolve/{revision} by commit) or "
                              "\"npm\" (a registry: {package}@{version}/{path} from its tarball), not \"" + kind + "\"");
    const std::string& p = m.path;
    bool plain = p.size() >= 2 && p.starts_with('/') && p.ends_with('/') && p.find("//") == std::string::npos &&
                 p.find_first_of("?#%\\*[ ") == std::string::npos && p.find("/.") == std::string::npos;
    if (!plain) c.fail(key + ".path", "must be a folder path such as \"/tfhub/\" (leading and trailing '/', no hidden, empty or glob parts, no ?, #, %, \\ or spaces)");
    const std::string& u = m.upstream;
    bool scheme = u.starts_with("https://") || u.starts_with("http://");
    if (!scheme || !u.ends_with('/') || u.find_first_of("?# \r\n") != std::string::npos || u.find("://", 0) + 3 >= u.size() - 1)
        c.fail(key + ".upstream", "must be an http:// or https:// URL ending in '/', without query or fragment, such as \"https://tfhub.dev/\"");
    std::error_code ec;
    if (check_files && !m.ca_file.empty() && !std::filesystem::is_regular_file(m.ca_file, ec))
        c.fail(key + ".ca_file", "\"" + m.ca_file + "\" is not a readable file");
    return m;
}

std::vector<MirrorConfig> read_mirrors(const Checker& c, const json& arr, bool check_files) {
    if (!arr.is_array()) c.fail("mirrors", "must be an array of {\"path\": \"/tfhub/\", \"upstream\": \"https://tfhub.dev/\", ...}");
    std::vector<MirrorConfig> out;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        MirrorConfig m = read_mirror(c, arr[i], "mirrors[" + std::to_string(i) + "]", check_files);
        for (const auto& other : out)
            if (m.path.starts_with(other.path) || other.path.starts_with(m.path))
                c.fail(m.key + ".path", "\"" + m.path + "\" overlaps " + other.key + " (\"" + other.path + "\"): each folder has one upstream");
        out.push_back(std::move(m));
    }
    return out;
}

void read_compression(const Checker& c, const json& obj, CompressionConfig& z) {
    c.keys(obj, "compression", {"precompressed", "gzip", "gzip_max_bytes", "gzip_cache_bytes"});
    c.get(obj, "compression", "precompressed", z.precompressed);
    c.get(obj, "compression", "gzip", z.gzip);
    c.get_int(obj, "compression", "gzip_max_bytes", z.gzip_max_bytes, 0, 1ll << 30);
    c.get_int(obj, "compression", "gzip_cache_bytes", z.gzip_cache_bytes, 0, 1ll << 34);
}

}  // namespace

Config validate(const Layered& raw) {
    Checker c(raw);
    const json& doc = raw.doc;
    c.keys(doc, "", {"server", "limits", "cors", "headers", "routes", "cache_control", "mirrors", "compression",
                     "huggingface", "health", "tls", "http2", "log"});
    Config cfg;
    static const json empty = json::object();
    auto section = [&](const char* name) -> const json& { return doc.contains(name) ? doc.at(name) : empty; };
    read_server(c, section("server"), cfg.server, raw.check_files, raw.root_optional);
    read_limits(c, section("limits"), cfg.limits);
    if (doc.contains("cors")) cfg.cors = read_cors(c, doc.at("cors"), "cors", CorsConfig{});
    if (doc.contains("headers")) cfg.headers = read_headers(c, doc.at("headers"), "headers");
    if (doc.contains("routes")) cfg.routes = read_routes(c, doc.at("routes"), cfg, cfg.warnings);
    if (doc.contains("cache_control")) cfg.cache_control = read_cache_control(c, doc.at("cache_control"));
    if (doc.contains("mirrors")) cfg.mirrors = read_mirrors(c, doc.at("mirrors"), raw.check_files);
    if (!cfg.mirrors.empty() && cfg.server.root.empty())
        c.fail("server.root", "must be set when there are mirrors: they store what they fetch there");
    read_compression(c, section("compression"), cfg.compression);
    c.keys(section("huggingface"), "huggingface", {"enabled", "compress"});
    c.get(section("huggingface"), "huggingface", "enabled", cfg.huggingface.enabled);
    c.get(section("huggingface"), "huggingface", "compress", cfg.huggingface.compress);
    c.keys(section("health"), "health", {"prefix"});
    c.get(section("health"), "health", "prefix", cfg.health.prefix);
    const auto& prefix = cfg.health.prefix;
    if (!prefix.empty() && (!prefix.starts_with('/') || prefix.ends_with('/') || prefix.find_first_of("?#% ") != std::string::npos))
        c.fail("health.prefix", "must be \"\" or a path such as \"/.modelhost\" (leading '/', no trailing '/', no ?, #, % or spaces)");
    read_tls(c, section("tls"), cfg.tls, raw.check_files);
    c.keys(section("http2"), "http2", {"enabled", "cleartext", "max_concurrent_streams"});
    c.get(section("http2"), "http2", "enabled", cfg.http2.enabled);
    c.get(section("http2"), "http2", "cleartext", cfg.http2.cleartext);
    c.get_int(section("http2"), "http2", "max_concurrent_streams", cfg.http2.max_concurrent_streams, 1, 10000);
    read_log(c, section("log"), cfg.log);
    cfg.sources = raw.sources;
    cfg.warnings.insert(cfg.warnings.begin(), raw.warnings.begin(), raw.warnings.end());
    return cfg;
}

Config load(const LoadInput& in) { return validate(layer(in)); }

}  // namespace modelhost::config
