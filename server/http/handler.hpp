// The request pipeline: a function from (request, immutable policy) to a finalised response. The steps, numbered
// as in docs/ARCHITECTURE.md: 1 target, 2 route, 3 CORS decision, 4 method gate, 5 built-in endpoints
// (endpoints.hpp), 6 refusals and preflights, 7 the file (static_file.hpp), 8 finalise (finalise.hpp). The
// connection reads the request before (net/request_reader.hpp) and sends and logs the response after.
#pragma once

#include "http/message.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace modelhost::config {
struct Config;
}

namespace modelhost::mirror {
class Mirrors;
}

namespace modelhost::http {

struct Policy;     // the rules, compiled from Config once; defined in policy.hpp
struct Resources;  // the files, caches and catalog they work on; resources.hpp
struct InForce;    // one Policy with its Resources, swapped together (handler.cpp)
struct RoutePolicy;
struct Target;
struct HfRequest;  // what the target step found of the Hugging Face layout; hf_layout.hpp
struct HfRevisionCache;
struct NpmDocuments;

class Handler {
public:
    explicit Handler(const config::Config& cfg);  // throws config::ConfigError / std::system_error
    ~Handler();

    // Steps 1-8 for a complete, parsed request. With `may_wait`, a request a mirror must first fetch upstream gets
    // an Exchange with `wait` set instead of a reply (see Exchange::wait); without it, the answer is made at once.
    Exchange handle(const Request& req, const ConnectionFacts& conn, bool may_wait = false) const;
    // The same, made in `ex` (an Exchange as default-constructed), so a connection can build it where it queues it.
    void handle(const Request& req, const ConnectionFacts& conn, bool may_wait, Exchange& ex) const;

    // A request whose header is complete but whose framing or Host is refused (400/501, RFC 9112 §3.2, §6), or
    // nothing when its body may be read. Checked before any body byte is read.
    std::optional<Exchange> screen(const Request& header) const;

    // The answer to a request that could not be read (400, 408, 413, 431), or nothing when the connection should
    // just close (the peer is gone, or no request had started). `started`: some of a request had arrived.
    std::optional<Exchange> read_failed(ReadFailure why, bool started, const Request& partial, const std::string& detail) const;

    // Mirrors let go of the connections waiting on their transfers; called before the event loop ends (the
    // transfers' threads must not reach a connection after it).
    void close_mirrors();

    // A refused connection (503, the connection limit); always closes.
    Exchange refuse_connection() const;

    // Event-loop passes for file lookups, one per thread: a file checked in a thread's pass is trusted there without a
    // stat until `end_pass()` on that thread, which `request_pass_end` must arrange after the handlers already queued
    // on its event loop, returning whether it could (fs::FileStore::set_pass_end). Set once, before serving.
    void set_pass_end(std::function<bool()> request_pass_end);
    void end_pass() const;

    // Swaps in the policy `cfg` compiles to (CORS, routes, headers, cache rules, compression, health prefix, access
    // log), for every request from now on; replies already made keep theirs alive (Reply::keep). The file store,
    // the caches and the catalog are kept unless a setting each depends on changed (resources.hpp), so a reload
    // that leaves server.root alone starts no new scan. Throws config::ConfigError or std::system_error, and then
    // the running policy stays. Any thread.
    void reload(const config::Config& cfg);

private:
    // Step 7: the file ("/": the root's index.html), under the Hugging Face layout when `hf` says so, through the
    // mirror covering its path; true when a mirror's transfer must be waited for (nothing to send yet).
    bool serve_file(const InForce& now, const RoutePolicy& route, const Target& target, const HfRequest& hf,
                    const Request& req, bool may_wait, Exchange& ex) const;
    bool from_mirror(const InForce& now, const RoutePolicy& route, const Target& target, const Request& req,
                     bool may_wait, Exchange& ex) const;
    // An error status for a request that ends its connection.
    Exchange reject(bhttp::status status, const Request& partial, const std::string& note) const;

    // The policy in force for this thread's request (see handler.cpp).
    const std::shared_ptr<const InForce>& current() const;

    std::atomic<std::shared_ptr<const InForce>> now_;  // replaced whole by reload
    std::atomic<std::uint64_t> generation_;       // changes with now_, after it; unique in the process
    std::atomic<bool> access_log_;                 // log facts are copied only for an access log
    std::function<bool()> request_pass_end_;       // set before serving; given to every new file store
    std::unique_ptr<mirror::Mirrors> mirrors_;     // null without mirrors; restart-only (its state outlives reloads)
    std::unique_ptr<HfRevisionCache> hf_revisions_;  // a huggingface mirror's revision answers, parsed (hf_mirror.hpp)
    std::unique_ptr<NpmDocuments> npm_documents_;    // an npm mirror's package documents, parsed (npm_layout.hpp)
};

}  // namespace modelhost::http
