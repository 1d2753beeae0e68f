// The public API (include/modelhost/modelhost.hpp) over the server the binary runs: Options become the binary's
// configuration through its own loader and validation, the mounts become the file store's, and the server runs on
// threads of its own with a log context that calls the app's callbacks.
#include <modelhost/modelhost.hpp>

#include "config/layers.hpp"
#include "config/load.hpp"
#include "log/logging.hpp"
#include "net/server.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <spdlog/sinks/base_sink.h>

#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace modelhost {
inline namespace MODELHOST_ABI_NAMESPACE {

namespace {

using json = nlohmann::json;

// The library's own defaults, beneath any config text: no folder at "/" unless one is named, a free port, one thread.
constexpr const char* library_defaults = R"({"server": {"root": "", "port": 0, "threads": 1}})";

json parse_object(std::string_view text, std::string_view name) {
    try {
        return text.empty() ? json::object() : config::parse_document(std::string(name), std::string(text));
    } catch (const config::ConfigError& e) {
        throw Error(e.what());
    }
}

// A section of config_json that the typed fields write into (made when absent).
json& section(json& doc, const char* name) {
    json& s = doc[name];
    if (s.is_null()) s = json::object();
    if (!s.is_object()) throw Error(std::string("Options::config_json: ") + name + " must be a JSON object, got " + s.dump());
    return s;
}

// The config document the typed fields make, over `config_json` (a key with a field is the field's).
std::string document_of(const Options& o) {
    json doc = parse_object(o.config_json, "Options::config_json");
    json& server = section(doc, "server");
    server["host"] = o.host;
    server["port"] = o.port;
    server["threads"] = o.threads;
    server["root"] = o.root;
    server["etag"] = o.etag;
    server["shutdown_timeout"] = o.shutdown_timeout;
    json& cors = section(doc, "cors");
    cors["allow_origins"] = o.allow_origins;
    cors["allow_credentials"] = o.allow_credentials;
    doc["cache_control"] = json::array();
    for (const auto& rule : o.cache_control) doc["cache_control"].push_back({{"path", rule.path}, {"value", rule.value}});
    doc["headers"] = json::object();
    for (const auto& h : o.headers) doc["headers"][h.name] = h.value;
    json& compression = section(doc, "compression");
    compression["gzip"] = o.gzip;
    compression["precompressed"] = o.precompressed;
    json& http2 = section(doc, "http2");
    http2["enabled"] = o.http2;
    json& tls = section(doc, "tls");
    tls["cert_file"] = o.tls.cert_file;
    tls["key_file"] = o.tls.key_file;
    json& log = section(doc, "log");
    log["level"] = o.log_level;
    log["access_log"] = o.access_log;
    return doc.dump();
}

// The binary's configuration for `o` and `mounts`, validated by the binary's loader (the process environment is not
// read: an app's options are its own).
config::Config config_of(const Options& o, const std::vector<Mount>& mounts) {
    const bool pem = !o.tls.cert_pem.empty() || !o.tls.key_pem.empty();
    if (pem && (!o.tls.cert_file.empty() || !o.tls.key_file.empty()))
        throw Error("tls: set cert_file and key_file, or cert_pem and key_pem, not both");
    if (pem && (o.tls.cert_pem.empty() || o.tls.key_pem.empty()))
        throw Error("tls: cert_pem and key_pem go together; set both, or neither for plain HTTP");
    config::LoadInput in;
    in.defaults = library_defaults;
    in.documents.emplace_back("Options", document_of(o));
    in.root_optional = true;
    try {
        config::Config cfg = config::load(in);
        cfg.tls.cert_pem = o.tls.cert_pem;
        cfg.tls.key_pem = o.tls.key_pem;
        cfg.server.mounts = mounts;
        return cfg;
    } catch (const config::ConfigError& e) {
        throw Error(e.what());
    }
}

// The typed fields from a loaded configuration.
void fill(Options& o, const config::Config& c) {
    o.host = c.server.host;
    o.port = c.server.port;
    o.threads = c.server.threads;
    o.root = c.server.root;
    o.allow_origins = c.cors.allow_origins;
    o.allow_credentials = c.cors.allow_credentials;
    o.cache_control.clear();
    for (const auto& rule : c.cache_control) o.cache_control.push_back({rule.path, rule.value});
    o.headers.clear();
    for (const auto& [name, value] : c.headers) o.headers.push_back({name, value});
    o.etag = c.server.etag == config::ServerConfig::Etag::content ? "content" : "mtime";
    o.gzip = c.compression.gzip;
    o.precompressed = c.compression.precompressed;
    o.http2 = c.http2.enabled;
    o.tls.cert_file = c.tls.cert_file;
    o.tls.key_file = c.tls.key_file;
    o.shutdown_timeout = c.server.shutdown_timeout;
    o.log_level = c.log.level;
    o.access_log = c.log.access_log;
}

// "/models" or "/models/" -> "/models/"; anything that is not a plain path is refused.
std::string mount_prefix(std::string prefix) {
    if (prefix.empty() || prefix.front() != '/')
        throw Error("mount: prefix \"" + prefix + "\" must be a path starting with '/' (\"/\" or \"/models/\")");
    if (prefix.back() != '/') prefix += '/';
    if (prefix.find_first_of("?#%\\") != std::string::npos || prefix.find("//") != std::string::npos ||
        prefix.find("/./") != std::string::npos || prefix.find("/../") != std::string::npos)
        throw Error("mount: prefix \"" + prefix + "\" must be a plain path: no '?', '#', '%', '\\', empty, \".\" or \"..\" segments");
    return prefix;
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < length; ++i) out += {hex[digest[i] >> 4], hex[digest[i] & 15]};
    return out;
}

bool plain_relative(std::string_view path) {
    if (path.empty() || path.front() == '/' || path.back() == '/' || path.find('\0') != std::string_view::npos) return false;
    for (std::size_t at = 0; at <= path.size();) {
        std::size_t end = std::min(path.find('/', at), path.size());
        std::string_view segment = path.substr(at, end - at);
        if (segment.empty() || segment == "." || segment == "..") return false;
        at = end + 1;
    }
    return true;
}

// A table of assets as the file store reads it. A hand-made table without hashes gets them here, once.
std::shared_ptr<const EmbeddedFiles> table_of(const Assets& assets) {
    struct Owned {
        EmbeddedFiles files;
        std::deque<std::string> digests;
    };
    if (assets.count > 0 && !assets.items) throw Error("mount: the assets table has " + std::to_string(assets.count) + " items and no array");
    auto owned = std::make_shared<Owned>();
    std::vector<EmbeddedFile> files;
    for (std::size_t i = 0; i < assets.count; ++i) {
        const Asset& a = assets.items[i];
        const std::string_view path = a.path ? a.path : "";
        if (a.size > 0 && !a.data)
            throw Error("mount: asset \"" + std::string(path) + "\" has " + std::to_string(a.size) + " bytes and no data");
        if (!plain_relative(path))
            throw Error("mount: asset " + std::to_string(i) + " has the path \"" + std::string(path) +
                        "\"; paths are relative, '/'-separated, with no empty, \".\" or \"..\" segments");
        const std::string_view bytes(reinterpret_cast<const char*>(a.data), a.size);
        std::string_view digest = a.sha256 ? a.sha256 : "";
        if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string_view::npos)
            digest = owned->digests.emplace_back(sha256_hex(bytes));
        files.push_back({path, bytes, digest, a.mtime});
    }
    owned->files = EmbeddedFiles(std::move(files));
    return {owned, &owned->files};
}

// spdlog lines to the app's on_log, unformatted (the app has its own format).
class CallbackSink : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit CallbackSink(std::function<void(LogLevel, std::string_view)> to) : sink_(std::move(to)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        static constexpr LogLevel levels[] = {LogLevel::trace, LogLevel::debug, LogLevel::info,
                                              LogLevel::warn,  LogLevel::error, LogLevel::critical};
        const auto index = static_cast<std::size_t>(msg.level);
        sink_(index < std::size(levels) ? levels[index] : LogLevel::critical, std::string_view(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}

private:
    std::function<void(LogLevel, std::string_view)> sink_;
};

// The non-throwing twins: true, or false with `error` saying why.
template <class Call>
bool without_throwing(Call call, const char* what, std::string& error) noexcept {
    try {
        call();
        return true;
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = std::string(what) + ": unknown failure";
    }
    return false;
}

}  // namespace

Options Options::from_json(std::string_view text, std::string_view name) {
    config::LoadInput in;
    in.defaults = library_defaults;
    in.documents.emplace_back(std::string(name), std::string(text));
    in.root_optional = true;
    Options o;
    try {
        fill(o, config::load(in));
    } catch (const config::ConfigError& e) {
        throw Error(e.what());
    }
    o.config_json = std::string(text);
    return o;
}

Options Options::from_file(const std::string& path) {
    try {
        return from_json(config::read_config_file(path).dump(), path);  // (its relative paths made absolute)
    } catch (const config::ConfigError& e) {
        throw Error(e.what());
    }
}

// The state behind a Server. `mutex` guards every member but `runner` (join_mutex), and is never held while the
// server runs code that may log (a callback may call back into the Server: stop(), port(), url()).
struct __attribute__((visibility("hidden"))) Server::Impl {
    enum class State { idle, starting, running, stopped };

    std::mutex mutex;
    Options options;
    std::vector<Mount> mounts;
    std::function<void(LogLevel, std::string_view)> on_log;
    std::function<void(const AccessRecord&)> on_access;
    std::shared_ptr<log::Context> logs;
    State state = State::idle;
    std::shared_ptr<net::Server> server;             // while running; the runner lets go of it once it stops
    std::optional<std::chrono::milliseconds> stop_asked;  // a stop() while starting, applied once running
    std::uint16_t port = 0;
    bool https = false;

    std::mutex join_mutex;
    std::thread runner;

    std::shared_ptr<log::Context> make_logs(const config::LogConfig& cfg) const;
    void require_idle(const char* what) const {
        if (state != State::idle) throw Error(std::string(what) + ": only before start()");
    }
    void run_and_let_go(std::shared_ptr<net::Server> running);
};

std::shared_ptr<log::Context> Server::Impl::make_logs(const config::LogConfig& cfg) const {
    auto c = std::make_shared<log::Context>();
    if (on_log) c->main = std::make_shared<spdlog::logger>("modelhost", std::make_shared<CallbackSink>(on_log));
    if (on_access) {
        c->on_access = [sink = on_access](const log::AccessRecord& r) {
            sink(AccessRecord{r.remote, r.protocol, r.method, r.target, r.origin, r.note, r.status, r.bytes, r.ms});
        };
    }
    log::configure(*c, cfg);
    return c;
}

// The runner thread: serves until stopped, then ends the server (its catalog thread, its mirrors) before wait()
// returns.
void Server::Impl::run_and_let_go(std::shared_ptr<net::Server> running) {
    running->run();
    {
        std::lock_guard lock(mutex);
        state = State::stopped;
        server.reset();
    }
    log::Use lines(logs);
    running.reset();
}

Server::Server(Options options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }

Server::~Server() {
    stop(std::chrono::milliseconds(0));
    wait();
}

Server& Server::mount(std::string prefix, std::string directory) {
    std::lock_guard lock(impl_->mutex);
    impl_->require_idle("mount");
    prefix = mount_prefix(std::move(prefix));
    if (directory.empty()) throw Error("mount \"" + prefix + "\": the directory is empty; name a folder");
    impl_->mounts.push_back({std::move(prefix), std::move(directory), nullptr});
    return *this;
}

Server& Server::mount(std::string prefix, const Assets& assets) {
    std::lock_guard lock(impl_->mutex);
    impl_->require_idle("mount");
    prefix = mount_prefix(std::move(prefix));
    impl_->mounts.push_back({std::move(prefix), {}, table_of(assets)});
    return *this;
}

void Server::on_log(std::function<void(LogLevel, std::string_view)> sink) {
    std::lock_guard lock(impl_->mutex);
    impl_->require_idle("on_log");
    impl_->on_log = std::move(sink);
}

void Server::on_access(std::function<void(const AccessRecord&)> sink) {
    std::lock_guard lock(impl_->mutex);
    impl_->require_idle("on_access");
    impl_->on_access = std::move(sink);
}

void Server::start() {
    auto& im = *impl_;
    config::Config cfg;
    {
        std::lock_guard lock(im.mutex);
        if (im.state != Impl::State::idle) throw Error("start: the server was started already (a Server starts once)");
        cfg = config_of(im.options, im.mounts);
        im.logs = im.make_logs(cfg.log);
        im.state = Impl::State::starting;
    }
    std::shared_ptr<net::Server> made;
    std::string failed;
    {
        log::Use use(im.logs);  // the server keeps the context current at its construction for all its threads
        try {
            made = std::make_shared<net::Server>(cfg);
        } catch (const net::StartupError& e) {
            failed = e.what();
        } catch (const config::ConfigError& e) {
            failed = e.what();
        } catch (const std::system_error& e) {  // a mount or server.root that cannot be opened
            failed = std::string(e.what()) + "; check the folder given to mount() or Options::root";
        }
    }
    std::lock_guard lock(im.mutex);
    if (!made) {
        im.state = Impl::State::idle;  // nothing runs: it may be started again (another port, say)
        im.stop_asked.reset();
        throw Error(failed);
    }
    im.port = made->port();
    im.https = cfg.tls.enabled();
    im.server = made;
    im.state = Impl::State::running;
    if (im.stop_asked) made->stop(std::chrono::duration<double>(*im.stop_asked).count());
    std::lock_guard join(im.join_mutex);
    im.runner = std::thread([&im, made] { im.run_and_let_go(made); });
}

bool Server::start(std::string& error) noexcept {
    return without_throwing([this] { start(); }, "start", error);
}

std::uint16_t Server::port() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->port;
}

std::string Server::url() const {
    std::lock_guard lock(impl_->mutex);
    const auto& im = *impl_;
    if (im.port == 0) return {};
    std::string host = im.options.host;
    if (host == "0.0.0.0") host = "127.0.0.1";  // every interface: the loopback one is always among them
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return std::string(im.https ? "https" : "http") + "://" + host + ":" + std::to_string(im.port) + "/";
}

void Server::run() {
    bool idle = false;
    {
        std::lock_guard lock(impl_->mutex);
        idle = impl_->state == Impl::State::idle;
    }
    if (idle) start();
    wait();
}

void Server::stop(std::chrono::milliseconds grace) {
    std::shared_ptr<net::Server> running;
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->state == Impl::State::starting && (!impl_->stop_asked || grace < *impl_->stop_asked))
            impl_->stop_asked = grace;
        running = impl_->server;
    }
    if (running) running->stop(std::chrono::duration<double>(grace).count());
}

void Server::stop() {
    double grace = 0;
    {
        std::lock_guard lock(impl_->mutex);
        grace = impl_->options.shutdown_timeout;
    }
    stop(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(grace)));
}

void Server::wait() {
    std::lock_guard lock(impl_->join_mutex);
    if (impl_->runner.joinable()) impl_->runner.join();
}

void Server::reload(const Options& options) {
    auto& im = *impl_;
    config::Config next;
    std::shared_ptr<net::Server> running;
    std::shared_ptr<log::Context> logs;
    {
        std::lock_guard lock(im.mutex);
        next = config_of(options, im.mounts);  // throws Error, and nothing changes
        running = im.server;
        logs = im.logs;
    }
    if (running) {
        log::Use use(logs);
        std::string error;
        // (its log settings are applied to `logs` by the server, as the binary's are: log::reconfigure)
        if (!running->reload(next, error)) throw Error("reload refused, still serving the previous options: " + error);
    }
    std::lock_guard lock(im.mutex);
    const Options previous = std::exchange(im.options, options);
    if (im.state != Impl::State::idle) {  // what a running server keeps (the log names it): url() names its listener
        im.options.host = previous.host;
        im.options.port = previous.port;
        im.options.threads = previous.threads;
        im.options.shutdown_timeout = previous.shutdown_timeout;
        im.options.http2 = previous.http2;
    }
}

bool Server::reload(const Options& options, std::string& error) noexcept {
    return without_throwing([&] { reload(options); }, "reload", error);
}

}  // namespace MODELHOST_ABI_NAMESPACE
}  // namespace modelhost
