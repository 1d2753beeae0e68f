// Validated configuration: plain values, checked once at load time (see load.hpp).
#pragma once

#include "base/assets.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace modelhost::config {

// One configured response header, name as written in the config.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The listener, the served folder and the worker threads.
struct ServerConfig {
    std::string host = "127.0.0.1";
    bool ipv6_only = false;  // an IPv6 listener ("::") takes IPv6 only; false: IPv4 too (IPv4-mapped), dual-stack
    std::uint16_t port = 8080;
    std::string root = "models";  // "" serves no folder at "/" (only the embedding API allows it: mounts instead)
    // Folders and compiled-in files on path prefixes, searched in order before `root` (the embedding API's
    // Server::mount; never read from a config file). Restart-only.
    std::vector<Mount> mounts;
    unsigned threads = 0;  // 0 = one per core
    // The worker threads that run: `threads`, or one per core when 0.
    unsigned worker_threads() const { return threads ? threads : std::max(1u, std::thread::hardware_concurrency()); }
    double shutdown_timeout = 10.0;  // seconds in-flight responses may take after SIGTERM
    // File bodies at least this large go out with sendfile(2); smaller files (up to 64 KiB) are served from memory.
    // One key on purpose: a file is either cheap to copy from memory or worth the zero-copy path, never both.
    std::uint64_t sendfile_min_bytes = 16 * 1024;
    // Where serve writes its process id (and removes it at exit), for `modelhost reload`; "" writes none.
    std::string pid_file;
    // How ETags are made: from size and mtime (`mtime`), or from the bytes themselves (`content`: read once per file
    // version to hash them), so origins serving the same bytes agree even when their mtimes differ.
    enum class Etag { mtime, content } etag = Etag::mtime;
};

// Bounds on what one client may cost the server.
struct LimitsConfig {
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    double header_timeout = 10.0;     // seconds to receive a whole request once it has started
    double keepalive_timeout = 75.0;  // seconds an idle connection is kept open
    double send_timeout = 60.0;       // seconds a stalled response write may take
    std::size_t max_connections = 10000;
    std::size_t max_requests_per_connection = 1000;
};

// The `cors` section as written (plain strings); http::CorsPolicy compiles it and reports bad entries by `key`.
struct CorsConfig {
    std::vector<std::string> allow_origins{"*"};
    bool allow_credentials = false;
    std::vector<std::string> allow_methods{"GET", "HEAD"};
    std::vector<std::string> allow_headers{"Range", "If-None-Match", "If-Modified-Since"};
    std::vector<std::string> expose_headers{"Content-Length", "Content-Range", "ETag", "Accept-Ranges", "Link",
                                            "X-Repo-Commit", "X-Linked-Size", "X-Linked-Etag", "X-Error-Code",
                                            "X-Error-Message"};
    long max_age = 7200;
    bool allow_private_network = false;
    std::string key = "cors";  // where the section sits ("routes[1].cors"), for messages
    std::string origins_source;  // the layer that set allow_origins (file, env var, flag), "" for the built-in

    bool operator==(const CorsConfig&) const = default;
};

// A path glob with the policy that replaces the top-level one for matching paths.
struct RouteConfig {
    std::string path;
    std::optional<CorsConfig> cors;
    std::optional<HeaderList> headers;

    bool operator==(const RouteConfig&) const = default;
};

// One `cache_control` rule: a path glob ("/v1/**"), or a file-name glob when it has no '/' ("*.json").
struct CacheControlRule {
    std::string path;
    std::string value;

    bool operator==(const CacheControlRule&) const = default;
};

// Precompressed sidecars and on-the-fly gzip.
struct CompressionConfig {
    bool precompressed = true;  // serve x.br / x.gz beside x when the client accepts them
    bool gzip = true;           // gzip compressible files on the fly (cached in memory per file version)
    std::uint64_t gzip_max_bytes = 8 * 1024 * 1024;
    std::uint64_t gzip_cache_bytes = 64 * 1024 * 1024;
};

// The Hugging Face layout over the root's folders (/{model}/resolve/{revision}/{path}) and the hub's model API
// (/api/models/...), docs/HUGGINGFACE.md.
struct HuggingFaceConfig {
    bool enabled = true;
    // Compress files under the layout as the compression section says. Off: identity, as the hub sends them, so a
    // loader's progress (Content-Length) counts the bytes it gets.
    bool compress = false;
};

// Liveness and readiness endpoints. The default prefix is a dot-folder, which is never served as files,
// so the endpoints can never shadow a model.
struct HealthConfig {
    std::string prefix = "/.modelhost";  // endpoints: <prefix>/healthz and <prefix>/readyz
};

// HTTPS: both files set, or neither (plain HTTP).
struct TlsConfig {
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
    // Or the PEM text itself (the embedding API's Options::tls; never read from a config file, never watched).
    std::string cert_pem, key_pem;
    // Seconds one set of session-ticket keys is used: the context is then made afresh from the same files, with new
    // keys (tickets from before get a full handshake).
    double ticket_key_rotation = 12 * 3600;
    bool enabled() const { return !cert_file.empty() || !cert_pem.empty(); }
};

// HTTP/2 (RFC 9113): negotiated by ALPN over TLS; cleartext h2c only with prior knowledge (no Upgrade), for
// proxies and CDNs that speak h2c to an origin.
struct Http2Config {
    bool enabled = true;     // offer h2 by ALPN on the TLS listener
    bool cleartext = false;  // accept the h2c preface on the plain listener
    unsigned max_concurrent_streams = 100;
};

// A pull-through mirror: a request under `path` for a file the root lacks is fetched from `upstream` + the rest of
// the path (and the request's query), stored under the root at the same path, and served from there.
struct MirrorConfig {
    // tfjs: files by path, as above. huggingface: a hub; {path}{model}/resolve/{revision}/{file} resolves the revision
    // to a commit by the hub's revision API and stores the files per commit (docs/HUGGINGFACE.md). npm: a registry;
    // the first request for a file of {path}{package}@{version}/ fetches that version's tarball once, checks its
    // integrity and unpacks it; a tag or range resolves through the package's document, revalidated after
    // revalidate_after (docs/NPM.md).
    enum class Kind { tfjs, huggingface, npm };
    std::string path;      // "/tfhub/": a leading and a trailing '/'
    std::string upstream;  // "https://tfhub.dev/": http(s), ending in '/'
    Kind kind = Kind::tfjs;
    std::string ca_file;   // a private CA (PEM) trusted besides the system's
    // Stored files matching these globs (file names without '/', paths with it) are revalidated upstream once they
    // are `revalidate_after` seconds old; the rest (shards) are kept as they are.
    std::vector<std::string> revalidate{"*.json"};
    double revalidate_after = 300;
    double not_found_ttl = 60;     // seconds an upstream 404/410 is remembered
    double timeout = 300;          // seconds one upstream transfer may take (each socket wait: 15 s)
    std::uint64_t max_bytes = 0;   // stored bytes under `path`; least recently used files go first; 0: no bound
    std::uint64_t max_file_bytes = 4ull << 30;  // one file (a shard of a stored model.json: its declared bytes)
    bool offline = false;          // serve only what is stored; never contact the upstream
    std::string key;               // "mirrors[0]", for messages

    bool operator==(const MirrorConfig&) const = default;
};

enum class LogFormat { text, json };

struct LogConfig {
    std::string level = "info";
    bool access_log = true;
    LogFormat format = LogFormat::text;
};

struct Config {
    ServerConfig server;
    LimitsConfig limits;
    CorsConfig cors;
    HeaderList headers{{"Cross-Origin-Resource-Policy", "cross-origin"}};
    std::vector<RouteConfig> routes;
    // An npm package's folder named for its exact version (ROOT/npm/{package}@{version}/, the npm-CDN layout) never
    // changes: kept for a year. A scope's own folder is not a version.
    std::vector<CacheControlRule> cache_control{{"/npm/@*/*@*/**", "public, max-age=31536000, immutable"},
                                                {"/npm/@*/**", "public, max-age=86400"},
                                                {"/npm/*@*/**", "public, max-age=31536000, immutable"},
                                                {"*.json", "no-cache"},
                                                {"**", "public, max-age=86400"}};
    std::vector<MirrorConfig> mirrors;
    CompressionConfig compression;
    HuggingFaceConfig huggingface;
    HealthConfig health;
    TlsConfig tls;
    Http2Config http2;
    LogConfig log;
    // Setting path ("server.port") -> where its non-default value came from (file, env var, flag).
    std::map<std::string, std::string> sources;
    // Things worth telling the operator that do not stop the start (unknown MODELHOST_* variables).
    std::vector<std::string> warnings;
};

}  // namespace modelhost::config
