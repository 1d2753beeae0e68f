// Stage one of loading: built-in defaults < file < env vars < flags, merged into one JSON document.
#include "config/layers.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

extern char** environ;

namespace modelhost::config {

using json = nlohmann::json;

namespace {

// The value of one setting: Section is a member of Config, Member one of that section (or absent for a top-level one).
template <auto Section, auto Member>
bool same(const Config& a, const Config& b) {
    return a.*Section.*Member == b.*Section.*Member;
}
template <auto Top>
bool same(const Config& a, const Config& b) {
    return a.*Top == b.*Top;
}
// Port 0 in a reload means "any": the running port is kept without a warning.
bool same_port(const Config& now, const Config& next) {
    return now.server.port == next.server.port || next.server.port == 0;
}
// The mirrors (restart-only) store their files and their index under the root they started with; with mirrors the
// root is kept too, or the files would be looked for where the mirrors never write.
bool same_root_under_mirrors(const Config& now, const Config& next) {
    return now.mirrors.empty() || now.server.root == next.server.root;
}
// The certificate and key are reloaded by themselves; TLS on or off needs a new listener.
bool same_tls_on(const Config& now, const Config& next) {
    return now.tls.enabled() == next.tls.enabled();
}

using C = Config;
using Srv = ServerConfig;
using Lim = LimitsConfig;
using Cors = CorsConfig;
using Comp = CompressionConfig;

// (At namespace scope: a table, not a function; read after static initialisation, from main on.)
const std::vector<Setting> table{
    {"server.host", "MODELHOST_HOST", "--host", "string", same<&C::server, &Srv::host>, same<&C::server, &Srv::host>},
    {"server.ipv6_only", "MODELHOST_IPV6_ONLY", nullptr, "boolean", same<&C::server, &Srv::ipv6_only>,
     same<&C::server, &Srv::ipv6_only>},
    {"server.port", "MODELHOST_PORT", "--port", "integer", same<&C::server, &Srv::port>, same_port},
    {"server.root", "MODELHOST_ROOT", "--root", "string", same<&C::server, &Srv::root>, same_root_under_mirrors},
    {"server.threads", "MODELHOST_THREADS", "--threads", "integer", same<&C::server, &Srv::threads>,
     same<&C::server, &Srv::threads>},
    {"server.shutdown_timeout", "MODELHOST_SHUTDOWN_TIMEOUT", nullptr, "number",
     same<&C::server, &Srv::shutdown_timeout>, same<&C::server, &Srv::shutdown_timeout>},
    {"server.sendfile_min_bytes", "MODELHOST_SENDFILE_MIN_BYTES", nullptr, "integer",
     same<&C::server, &Srv::sendfile_min_bytes>, same<&C::server, &Srv::sendfile_min_bytes>},
    {"server.pid_file", "MODELHOST_PID_FILE", nullptr, "string", same<&C::server, &Srv::pid_file>,
     same<&C::server, &Srv::pid_file>},
    {"limits.max_header_bytes", "MODELHOST_MAX_HEADER_BYTES", nullptr, "integer",
     same<&C::limits, &Lim::max_header_bytes>, same<&C::limits, &Lim::max_header_bytes>},
    {"limits.max_body_bytes", "MODELHOST_MAX_BODY_BYTES", nullptr, "integer", same<&C::limits, &Lim::max_body_bytes>,
     same<&C::limits, &Lim::max_body_bytes>},
    {"limits.header_timeout", "MODELHOST_HEADER_TIMEOUT", nullptr, "number", same<&C::limits, &Lim::header_timeout>,
     same<&C::limits, &Lim::header_timeout>},
    {"limits.keepalive_timeout", "MODELHOST_KEEPALIVE_TIMEOUT", nullptr, "number",
     same<&C::limits, &Lim::keepalive_timeout>, same<&C::limits, &Lim::keepalive_timeout>},
    {"limits.send_timeout", "MODELHOST_SEND_TIMEOUT", nullptr, "number", same<&C::limits, &Lim::send_timeout>,
     same<&C::limits, &Lim::send_timeout>},
    {"limits.max_connections", "MODELHOST_MAX_CONNECTIONS", nullptr, "integer",
     same<&C::limits, &Lim::max_connections>, same<&C::limits, &Lim::max_connections>},
    {"limits.max_requests_per_connection", "MODELHOST_MAX_REQUESTS_PER_CONNECTION", nullptr, "integer",
     same<&C::limits, &Lim::max_requests_per_connection>, same<&C::limits, &Lim::max_requests_per_connection>},
    {"cors.allow_origins", "MODELHOST_ALLOW_ORIGINS", "--allow-origin", "list", same<&C::cors, &Cors::allow_origins>},
    {"cors.allow_credentials", "MODELHOST_ALLOW_CREDENTIALS", nullptr, "boolean",
     same<&C::cors, &Cors::allow_credentials>},
    {"cors.allow_methods", "MODELHOST_ALLOW_METHODS", nullptr, "list", same<&C::cors, &Cors::allow_methods>},
    {"cors.allow_headers", "MODELHOST_ALLOW_HEADERS", nullptr, "list", same<&C::cors, &Cors::allow_headers>},
    {"cors.expose_headers", "MODELHOST_EXPOSE_HEADERS", nullptr, "list", same<&C::cors, &Cors::expose_headers>},
    {"cors.max_age", "MODELHOST_MAX_AGE", nullptr, "integer", same<&C::cors, &Cors::max_age>},
    {"cors.allow_private_network", "MODELHOST_ALLOW_PRIVATE_NETWORK", nullptr, "boolean",
     same<&C::cors, &Cors::allow_private_network>},
    {"server.etag", "MODELHOST_ETAG", nullptr, "string", same<&C::server, &Srv::etag>},
    {"compression.precompressed", "MODELHOST_PRECOMPRESSED", nullptr, "boolean",
     same<&C::compression, &Comp::precompressed>},
    {"compression.gzip", "MODELHOST_GZIP", nullptr, "boolean", same<&C::compression, &Comp::gzip>},
    {"compression.gzip_max_bytes", "MODELHOST_GZIP_MAX_BYTES", nullptr, "integer",
     same<&C::compression, &Comp::gzip_max_bytes>},
    {"compression.gzip_cache_bytes", "MODELHOST_GZIP_CACHE_BYTES", nullptr, "integer",
     same<&C::compression, &Comp::gzip_cache_bytes>},
    {"huggingface.enabled", "MODELHOST_HUGGINGFACE", nullptr, "boolean",
     same<&C::huggingface, &HuggingFaceConfig::enabled>},
    {"huggingface.compress", "MODELHOST_HUGGINGFACE_COMPRESS", nullptr, "boolean",
     same<&C::huggingface, &HuggingFaceConfig::compress>},
    {"health.prefix", "MODELHOST_HEALTH_PREFIX", nullptr, "string", same<&C::health, &HealthConfig::prefix>},
    {"tls.cert_file", "MODELHOST_TLS_CERT_FILE", nullptr, "string", same<&C::tls, &TlsConfig::cert_file>, same_tls_on},
    {"tls.key_file", "MODELHOST_TLS_KEY_FILE", nullptr, "string", same<&C::tls, &TlsConfig::key_file>},
    {"tls.ticket_key_rotation", "MODELHOST_TLS_TICKET_KEY_ROTATION", nullptr, "number",
     same<&C::tls, &TlsConfig::ticket_key_rotation>},
    {"http2.enabled", "MODELHOST_HTTP2", nullptr, "boolean", same<&C::http2, &Http2Config::enabled>,
     same<&C::http2, &Http2Config::enabled>},
    {"http2.cleartext", "MODELHOST_HTTP2_CLEARTEXT", nullptr, "boolean", same<&C::http2, &Http2Config::cleartext>,
     same<&C::http2, &Http2Config::cleartext>},
    {"http2.max_concurrent_streams", "MODELHOST_HTTP2_MAX_CONCURRENT_STREAMS", nullptr, "integer",
     same<&C::http2, &Http2Config::max_concurrent_streams>, same<&C::http2, &Http2Config::max_concurrent_streams>},
    {"log.level", "MODELHOST_LOG_LEVEL", "--log-level", "string", same<&C::log, &LogConfig::level>},
    {"log.format", "MODELHOST_LOG_FORMAT", nullptr, "string", same<&C::log, &LogConfig::format>},
    {"log.access_log", "MODELHOST_ACCESS_LOG", nullptr, "boolean", same<&C::log, &LogConfig::access_log>},
    {"headers", nullptr, nullptr, "object", same<&C::headers>},
    {"routes", nullptr, nullptr, "array", same<&C::routes>},
    {"cache_control", nullptr, nullptr, "array", same<&C::cache_control>},
    {"mirrors", nullptr, nullptr, "array", same<&C::mirrors>, same<&C::mirrors>},
};

}  // namespace

const std::vector<Setting>& settings() {
    return table;
}

std::vector<std::string> needs_restart(const Config& now, const Config& next) {
    std::vector<std::string> keys;
    for (const auto& s : settings())
        if (s.kept_until_restart && !s.kept_until_restart(now, next)) keys.emplace_back(s.key);
    return keys;
}

std::vector<std::string> not_default(const Config& cfg, const std::vector<std::string>& keys) {
    static const Config defaults;
    std::vector<std::string> out;
    for (const auto& key : keys) {
        auto row = std::find_if(settings().begin(), settings().end(), [&](const Setting& s) { return key == s.key; });
        if (row != settings().end() && !row->same(cfg, defaults)) out.push_back(key);  // (no row: a section)
    }
    return out;
}

void use_process_environment(LoadInput& in) {
    in.getenv = [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        if (entry.starts_with("MODELHOST_")) in.env_names.emplace_back(entry.substr(0, entry.find('=')));
    }
}

namespace {

// Turns a flag or env string into the JSON type the setting expects; nullopt when it does not fit.
std::optional<json> convert(std::string_view kind, const std::string& raw) {
    if (kind == std::string_view("string")) return json(raw);
    if (kind == std::string_view("boolean")) {
        if (raw == "true" || raw == "1" || raw == "yes" || raw == "on") return json(true);
        if (raw == "false" || raw == "0" || raw == "no" || raw == "off") return json(false);
        return std::nullopt;
    }
    if (kind == std::string_view("integer")) {
        long long v = 0;
        auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
        if (ec != std::errc{} || end != raw.data() + raw.size() || raw.empty()) return std::nullopt;
        return json(v);
    }
    if (kind == std::string_view("number")) {
        try {
            std::size_t used = 0;
            double v = std::stod(raw, &used);
            if (used != raw.size()) return std::nullopt;
            return json(v);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    json list = json::array();  // "list": comma separated, blanks trimmed, empties dropped
    for_each_list_item(raw, [&list](std::string_view item) {
        list.push_back(std::string(item));
        return true;
    });
    return list;
}

json::json_pointer pointer_of(std::string_view key) {
    std::string p = "/" + std::string(key);
    for (auto& c : p) if (c == '.') c = '/';
    return json::json_pointer(p);
}

// Records which source set each key of a file's document (objects walked, arrays and `headers` taken whole).
void record_sources(const json& doc, const std::string& path, const std::string& source,
                    std::map<std::string, std::string>& sources) {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        std::string key = path.empty() ? it.key() : path + "." + it.key();
        sources[key] = source;
        if (it->is_object() && key != "headers") record_sources(*it, key, source, sources);
    }
}

}  // namespace

json parse_document(const std::string& name, const std::string& text) {
    try {
        json doc = json::parse(text, nullptr, true, false);
        if (!doc.is_object()) throw ConfigError(name + ": the config must be a JSON object ({...})");
        return doc;
    } catch (const json::parse_error& e) {
        throw ConfigError(name + ": not valid JSON: " + e.what());
    }
}

namespace {

// Paths written in a config file mean the same wherever the server is started: relative ones are taken from the
// file's folder (flags and env vars stay relative to the working directory, as a shell user expects).
void resolve_paths_against(json& doc, const std::filesystem::path& folder) {
    static const std::pair<const char*, const char*> path_keys[] = {{"server", "root"}, {"server", "pid_file"}, {"tls", "cert_file"}, {"tls", "key_file"}};
    for (const auto& [section, key] : path_keys) {
        if (!doc.contains(section) || !doc[section].is_object() || !doc[section].contains(key)) continue;
        json& value = doc[section][key];
        if (!value.is_string() || value.get<std::string>().empty()) continue;
        std::filesystem::path p(value.get<std::string>());
        if (p.is_relative()) value = (folder / p).lexically_normal().string();
    }
    if (!doc.contains("mirrors") || !doc["mirrors"].is_array()) return;
    for (json& m : doc["mirrors"]) {
        if (!m.is_object() || !m.contains("ca_file") || !m["ca_file"].is_string() || m["ca_file"].get<std::string>().empty()) continue;
        std::filesystem::path p(m["ca_file"].get<std::string>());
        if (p.is_relative()) m["ca_file"] = (folder / p).lexically_normal().string();
    }
}

}  // namespace

json read_config_file(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ConfigError(file + ": cannot read config file: " + std::strerror(errno));
    json doc = parse_document(file, std::string(std::istreambuf_iterator<char>(in), {}));
    std::error_code ec;
    resolve_paths_against(doc, std::filesystem::absolute(file, ec).parent_path());
    return doc;
}

namespace {

const Setting* find_setting(const std::string& name, bool by_flag) {
    for (const auto& s : settings()) {
        const char* n = by_flag ? s.flag : s.env;
        if (n && name == n) return &s;
    }
    return nullptr;
}

// Sets one setting inside the document; a section that is not an object is reported by its name.
void set_at(json& doc, const std::string& key, json value) {
    try {
        doc[pointer_of(key)] = std::move(value);
    } catch (const json::exception&) {
        throw ConfigError(key.substr(0, key.find('.')) + ": must be a JSON object");
    }
}

json typed(const Setting& s, const std::string& name, const std::string& raw) {
    auto value = convert(s.kind, raw);
    if (!value) throw ConfigError(name + ": expected " + s.kind + " for " + s.key + ", got \"" + raw + "\"");
    return *value;
}

}  // namespace

Layered layer(const LoadInput& in) {
    Layered out{json::object(), {}, {}, in.check_files, in.root_optional};
    if (!in.defaults.empty()) out.doc = parse_document("defaults", in.defaults);
    if (in.file) {
        json file = read_config_file(*in.file);
        record_sources(file, "", *in.file, out.sources);
        if (out.doc.empty()) out.doc = std::move(file);  // (a merge would drop the nulls that validation reports)
        else out.doc.merge_patch(file);
    }
    for (const auto& [name, text] : in.documents) {
        json doc = parse_document(name, text);
        record_sources(doc, "", name, out.sources);
        out.doc.merge_patch(doc);
    }

    // Not an error: orchestrators inject their own MODELHOST_* variables (Kubernetes service links, for one).
    for (const auto& name : in.env_names) {
        if (name != "MODELHOST_CONFIG" && !find_setting(name, false))
            out.warnings.push_back(name + " is not a modelhost setting and is ignored; see `modelhost serve --help`");
    }
    for (const auto& s : settings()) {
        auto raw = in.getenv && s.env ? in.getenv(s.env) : std::nullopt;
        if (!raw) continue;
        set_at(out.doc, s.key, typed(s, s.env, *raw));
        out.sources[s.key] = s.env;
    }

    std::map<std::string, json> lists;  // repeatable list flags accumulate
    for (const auto& f : in.flags) {
        const Setting* s = find_setting(f.flag, true);
        if (!s) throw ConfigError(f.flag + ": unknown option; see `modelhost serve --help`");
        if (std::string_view(s->kind) == "list") {
            auto& list = lists.try_emplace(s->key, json::array()).first->second;
            for (auto& v : typed(*s, f.flag, f.value)) list.push_back(v);
            set_at(out.doc, s->key, list);
        } else {
            set_at(out.doc, s->key, typed(*s, f.flag, f.value));
        }
        out.sources[s->key] = f.flag;
    }
    return out;
}

}  // namespace modelhost::config
