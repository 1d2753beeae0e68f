// modelhost as a library: serve model files (folders, and files compiled into the program) from inside any C++
// program, with the CORS and HTTP caching the modelhost binary sends (docs/EMBEDDING.md).
//
// This header uses the standard library only: no Boost, Asio, OpenSSL, spdlog or JSON header reaches the app's
// build, and the library adds nothing process-wide (no signal handler or disposition, no global logger, no thread
// left once a Server is destroyed).
//
//     modelhost::Server server;                    // 127.0.0.1, a free port, one thread, CORS for every origin
//     server.mount("/models/", modelhost_assets::demo());
//     server.mount("/models/", "/var/lib/app/models");
//     server.start();                              // bound when it returns; throws modelhost::Error
//     std::cout << "serving " << server.url() << "\n";
//     server.wait();                               // until server.stop() from any thread
#pragma once

#include <modelhost/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(MODELHOST_BUILDING_LIBRARY)
#define MODELHOST_API __attribute__((visibility("default")))
#else
#define MODELHOST_API
#endif

namespace modelhost {
inline namespace MODELHOST_ABI_NAMESPACE {

// Options that do not validate, a port already in use, a folder that cannot be opened, a reload refused. The
// message names the setting or path and what to do, as the binary's do.
class MODELHOST_API Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One file compiled into the program (modelhost_add_assets in CMake makes a table of them).
struct Asset {
    const char* path;           // relative to the folder it came from: "face/model.json"
    const unsigned char* data;  // the bytes, in read-only memory; never copied
    std::size_t size;
    const char* sha256;         // lower-case hex SHA-256 of the bytes, computed at build time: the strong ETag
    long long mtime;            // the file's modification time at build time (seconds since the epoch): Last-Modified
};

// A table of assets. The bytes it points to must outlive every Server it is mounted on (a generated table's do:
// they are the program's).
struct Assets {
    const Asset* items = nullptr;
    std::size_t count = 0;
};

// One `cache_control` rule: a path glob ("/v1/**"), or a file-name glob when it has no '/' ("*.json").
struct CacheRule {
    std::string path;
    std::string value;
};

struct Header {
    std::string name;
    std::string value;
};

// HTTPS: a certificate chain and its key, as files or as PEM text (one pair or the other). HTTP/2 is offered by ALPN.
struct Tls {
    std::string cert_file, key_file;
    std::string cert_pem, key_pem;
};

// What a Server does. The defaults are the binary's (config/modelhost.json's keys), except the listener: 127.0.0.1, a
// free port, one thread, and no folder at "/" (mount what to serve).
struct MODELHOST_API Options {
    std::string host = "127.0.0.1";   // server.host; "0.0.0.0" or "::" for every interface
    std::uint16_t port = 0;           // server.port; 0 = a free port (Server::port() says which)
    unsigned threads = 1;             // server.threads: event loops, each on its own thread; 0 = one per core
    std::string root;                 // server.root: a folder served at "/" after the mounts; "" none
    std::vector<std::string> allow_origins{"*"};  // cors.allow_origins: exact origins, "*", or "https://*.example.com"
    bool allow_credentials = false;               // cors.allow_credentials
    std::vector<CacheRule> cache_control{{"*.json", "no-cache"}, {"**", "public, max-age=86400"}};
    std::vector<Header> headers{{"Cross-Origin-Resource-Policy", "cross-origin"}};  // sent with every response
    std::string etag = "mtime";       // server.etag: "mtime" (size and mtime) or "content" (SHA-256 of the bytes)
    bool gzip = true;                 // compression.gzip: compressible files gzipped on the fly (cached)
    bool precompressed = true;        // compression.precompressed: x.br / x.gz beside x (an asset's twin too)
    bool http2 = true;                // http2.enabled (over TLS)
    Tls tls;
    double shutdown_timeout = 10;     // server.shutdown_timeout: stop()'s grace when it is not given one
    std::string log_level = "info";   // log.level: trace, debug, info, warn, error, critical, off
    bool access_log = true;           // log.access_log: on_access is called for each request
    // More settings, in the binary's config format (limits, routes, health, mirrors, ...). A key that has a field
    // above is taken from the field.
    std::string config_json;

    // The binary's config format, with the binary's validation messages (naming `name` as the source): every key
    // with a field above fills it, the text is kept in config_json for the rest. Relative paths are taken from the
    // working directory (from_file: from the file's folder). Throws Error.
    static Options from_json(std::string_view text, std::string_view name = "options");
    static Options from_file(const std::string& path);
};

enum class LogLevel { trace, debug, info, warn, error, critical };

// What one request's access line says.
struct AccessRecord {
    std::string_view remote;    // "127.0.0.1:53211"
    std::string_view protocol;  // "HTTP/1.1", "HTTP/1.0", "HTTP/2"
    std::string_view method;
    std::string_view target;
    std::string_view origin;    // the request's Origin, or empty
    std::string_view note;      // why a request was refused or how it was served, or empty
    unsigned status = 0;
    std::uint64_t bytes = 0;    // content bytes sent
    double ms = 0;              // from the request's first byte to its last byte sent
};

// A server: mounts and callbacks first, then start(). Every member may be called from any thread; stop() also from
// inside a callback. The callbacks run on the server's threads, one line at a time per thread: keep them short.
class MODELHOST_API Server {
public:
    explicit Server(Options options = {});
    // Stops at once (no grace) if it runs, and joins every thread it started. Safe in every state.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serves `directory` (opened at start()) under `prefix` ("/models/"; "/" for the top). Several mounts on one
    // prefix overlay in the order they were made: the first that holds a path answers for it, then server.root.
    // Before start(); throws Error for a prefix that is not a path.
    Server& mount(std::string prefix, std::string directory);
    // The same for compiled-in files: answered as files are (CORS, ETag, 304, ranges, HTTP/2, precompressed twins).
    // Never copied: small ones are sent from memory, large ones by sendfile(2) from the program's own file (the
    // pages it maps them from), or from memory when that file cannot be opened.
    Server& mount(std::string prefix, const Assets& assets);

    // The server's own lines (start-up problems, reloads, shutdown), at Options::log_level and above. Before start().
    void on_log(std::function<void(LogLevel, std::string_view message)> sink);
    // One call per request, when Options::access_log. Before start().
    void on_access(std::function<void(const AccessRecord&)> sink);

    // Binds the listener and starts the threads; the server answers when it returns. Throws Error (options that do
    // not validate, the port in use, a mount that cannot be opened). Once only.
    void start();
    // The same without throwing: false, with `error` saying why.
    bool start(std::string& error) noexcept;

    std::uint16_t port() const;  // the bound port, once started (0 before)
    std::string url() const;     // "http://127.0.0.1:8080/" (https with TLS; IPv6 in brackets), once started

    // start() if it has not been, then wait().
    void run();
    // No new connections; requests in progress get up to `grace` to finish, then their connections close. Returns
    // at once; any thread; idempotent (a second call with a shorter grace shortens it).
    void stop(std::chrono::milliseconds grace);
    void stop();  // with Options::shutdown_timeout
    // Until the server has stopped and its threads are joined (at once when never started).
    void wait();

    // Swaps in `options` for requests from now on: CORS, cache rules, headers, compression, ETag mode, TLS files,
    // log level; `root` too. Listener, threads and mounts stay as they were (a log line names what was kept).
    // Connections stay open, and a request in progress finishes under the options it began with. Throws Error and
    // keeps the running options when `options` do not validate.
    void reload(const Options& options);
    bool reload(const Options& options, std::string& error) noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace MODELHOST_ABI_NAMESPACE
}  // namespace modelhost
