// The request pipeline. Steps, in the order the code follows them:
//   1. target: Boost.URL parse (unless nothing needs decoding), decode once, drop the query, normalise, refuse escapes
//      (400/404/414); 1′ the Hugging Face layout: /{model}/resolve/{revision}/{path} names ROOT/{model}/{path};
//      1″ WebLLM's tensor-cache.json and ndarray-cache.json answer for each other (hf_layout.cpp)
//   2. route: first matching routes[] glob, else the top-level policy
//   3. CORS decision: made once here, applied by finalise
//   4. method gate: GET, HEAD, OPTIONS; anything else 405 + Allow
//   5. built-in endpoints for GET and HEAD (endpoints.cpp): <health.prefix>/healthz, /readyz, /metrics and / (the
//      status page), matched as sent; /v1/models; "/" without an index.html -> the status page; 5′ the hub's model
//      API, /api/models/... (hf_api.cpp)
//   6. refused target -> its status; preflight -> 204 or 403; other OPTIONS -> 204 + Allow; "*" otherwise -> 400
//   7. the file ("/" -> the root's index.html), from a mirror under its path: facts -> representation ->
//      conditionals (304/412) -> range (206/416); see static_file.cpp; under the Hugging Face layout with the hub's
//      headers and errors (hf_layout.cpp); an npm tag or range (/npm/{package}@latest/...) a 302 to the exact
//      version, and an npm mirror's version filled at once (npm_layout.cpp)
//   8. finalise: CORS, Vary, common and configured headers, framing, keep-alive — for every response
#include "http/handler.hpp"

#include "http/finalise.hpp"
#include "http/framing.hpp"
#include "http/hf_layout.hpp"
#include "http/hf_mirror.hpp"
#include "http/mime.hpp"
#include "http/npm_layout.hpp"
#include "http/policy.hpp"
#include "http/resources.hpp"
#include "http/static_file.hpp"
#include "http/target.hpp"
#include "metrics/metrics.hpp"
#include "mirror/mirror.hpp"

namespace modelhost::http {

namespace {

constexpr const char* allowed_methods = "GET, HEAD, OPTIONS";

// What the access log prints; nothing is copied when there is no access log.
void take_log_facts(const Request& req, bool access_log, LogFacts& log) {
    if (!access_log) return;
    log.method = req.method_string();
    log.target = req.target();
    log.origin = req[bhttp::field::origin];
}

bhttp::status status_for(Target::Verdict v) {
    switch (v) {
        case Target::Verdict::not_found: return bhttp::status::not_found;
        case Target::Verdict::too_long: return bhttp::status::uri_too_long;
        default: return bhttp::status::bad_request;
    }
}

// The request-target's query, without the '?' ("" when none).
std::string_view query_of(const Request& req) {
    std::string_view t(req.target().data(), req.target().size());
    auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

unsigned method_index(bhttp::verb m) {
    return m == bhttp::verb::get ? 0 : m == bhttp::verb::head ? 1 : m == bhttp::verb::options ? 2 : 3;
}

// CORS outcomes worth counting: preflights, and what a refusal refused.
void count_cors(const CorsDecision& cors) {
    if (cors.preflight) metrics::count(metrics::Event::preflight);
    switch (cors.verdict) {
        case CorsDecision::Verdict::refused_origin: return metrics::count(metrics::Event::cors_refused_origin);
        case CorsDecision::Verdict::refused_method: return metrics::count(metrics::Event::cors_refused_method);
        case CorsDecision::Verdict::refused_header: return metrics::count(metrics::Event::cors_refused_header);
        default: return;
    }
}

// Routes match decoded paths; a refused target has none and gets the top-level policy.
const RoutePolicy& route_of(const Policy& policy, const Target& target) {
    return policy.route_for(target.verdict == Target::Verdict::ok ? std::string_view(target.path) : std::string_view());
}

// Step 6: a refused target gets its status; a preflight 204 (allowed) or 403; another OPTIONS 204 + Allow; the
// asterisk-form outside OPTIONS 400. False when the request goes on to the file.
bool refused(const Target& target, const CorsDecision& cors, bhttp::verb method, unsigned version, Exchange& ex) {
    Reply& res = ex.reply;
    if (target.verdict != Target::Verdict::ok && target.verdict != Target::Verdict::asterisk) {
        res = error_reply(status_for(target.verdict), version);
        ex.log.note = target.reason;
    } else if (cors.preflight) {
        bool allowed = cors.verdict == CorsDecision::Verdict::allowed;
        res = allowed ? Reply{bhttp::status::no_content, version} : error_reply(bhttp::status::forbidden, version);
    } else if (method == bhttp::verb::options) {
        res = Reply{bhttp::status::no_content, version};
        res.set(bhttp::field::allow, allowed_methods);
    } else if (target.verdict == Target::Verdict::asterisk) {
        res = error_reply(bhttp::status::bad_request, version);
        ex.log.note = "asterisk-form outside OPTIONS";
    } else {
        return false;
    }
    return true;
}

bool allowed_method(bhttp::verb m) { return m == bhttp::verb::get || m == bhttp::verb::head || m == bhttp::verb::options; }

// Numbers every policy a Handler installs, across the process, so a number is never reused (see current).
std::atomic<std::uint64_t> policies_installed{0};

}  // namespace

// The rules in force and the resources they work on, installed together: a request never sees a policy with
// another policy's caches (a head cache built under other header rules, a file store under another root).
struct InForce {
    InForce(const config::Config& cfg, const InForce* running, const std::function<bool()>& pass_end)
        : policy(cfg), resources(cfg, running ? &running->resources : nullptr, pass_end) {}
    const Policy policy;        // first: a config it refuses starts nothing (no scan, no file store)
    const Resources resources;
};

Handler::Handler(const config::Config& cfg)
    : now_(std::make_shared<const InForce>(cfg, nullptr, nullptr)), generation_(++policies_installed),
      access_log_(cfg.log.access_log) {
    // An npm tarball's HTML and SVG are never unpacked: they would run on this origin.
    auto unpacks = [](std::string_view path) { return !is_active_markup(mime_type(path)); };
    if (!cfg.mirrors.empty()) mirrors_ = std::make_unique<mirror::Mirrors>(cfg.mirrors, cfg.server.root, unpacks);
    if (mirrors_) hf_revisions_ = std::make_unique<HfRevisionCache>();
    if (mirrors_) npm_documents_ = std::make_unique<NpmDocuments>();
}

void Handler::reload(const config::Config& cfg) {
    const std::shared_ptr<const InForce> running = now_.load(std::memory_order_acquire);
    auto next = std::make_shared<const InForce>(cfg, running.get(), request_pass_end_);  // throws: the running stays
    access_log_.store(cfg.log.access_log, std::memory_order_relaxed);
    now_.store(std::move(next), std::memory_order_release);
    generation_.store(++policies_installed, std::memory_order_release);  // after the policy: whoever sees it sees that
}

// Each thread keeps the policy it last used with its number, and reads the shared pointer again only when the number
// differs (a reload, or another Handler): a request costs no atomic read-modify-write here. The reference holds until
// this thread's next call. A thread that serves nothing after a reload keeps the old policy until its next request.
const std::shared_ptr<const InForce>& Handler::current() const {
    struct Seen {
        std::uint64_t generation = 0;
        std::shared_ptr<const InForce> in_force;
    };
    thread_local Seen seen;
    const std::uint64_t now = generation_.load(std::memory_order_acquire);
    if (seen.generation != now) {
        seen.in_force = now_.load(std::memory_order_acquire);
        seen.generation = now;
    }
    return seen.in_force;
}

void Handler::set_pass_end(std::function<bool()> request_pass_end) {
    request_pass_end_ = std::move(request_pass_end);
    now_.load()->resources.files->set_pass_end(request_pass_end_);
}

void Handler::end_pass() const { now_.load(std::memory_order_acquire)->resources.files->end_pass(); }

Handler::~Handler() = default;

void Handler::close_mirrors() {
    if (mirrors_) mirrors_->close();
    if (const auto& repos = now_.load()->resources.repos) repos->close();  // (its hashing waits, likewise)
}

Exchange Handler::handle(const Request& req, const ConnectionFacts& conn, bool may_wait) const {
    Exchange ex;
    handle(req, conn, may_wait, ex);
    return ex;
}

void Handler::handle(const Request& req, const ConnectionFacts& conn, bool may_wait, Exchange& ex) const {
    const std::shared_ptr<const InForce>& now = current();  // one policy per request
    const Policy& policy = now->policy;
    take_log_facts(req, access_log_.load(std::memory_order_relaxed), ex.log);
    const auto method = req.method();

    thread_local Target target;  // reused by every request of this thread: no allocation per request
    parse_target(req.target(), target);                                                             // 1
    thread_local HfRequest hf;
    hf.active = false;
    hf.repo.reset();
    if (policy.huggingface.enabled && !(mirrors_ && mirrors_->covers(target.path)) &&
        resolve_hf_layout(now->resources, target, hf) && mirrors_ && mirrors_->covers(target.path)) {  // 1′
        parse_target(req.target(), target);  // it names a mirror's file: not the layout (the mirror answers its own)
        hf.active = false;
    }
    resolve_webllm_alias(now->resources, mirrors_.get(), target);                                    // 1″
    const RoutePolicy& route = route_of(policy, target);                                           // 2
    CorsDecision cors = decide_cors(route.cors, req, method);                                       // 3
    ex.log.note = cors.note;
    ex.method_index = method_index(method);
    ex.route_index = route.index;
    count_cors(cors);

    if (!allowed_method(method)) {                                                                  // 4
        ex.reply = error_reply(bhttp::status::method_not_allowed, req.version());
        ex.reply.set(bhttp::field::allow, allowed_methods);
    } else if (method != bhttp::verb::options && !hf.active &&
               (policy.endpoints.answer(req, target, conn.draining, now->resources, ex) ||           // 5
                answer_hf_api(policy, now->resources, mirrors_.get(), target, req, may_wait, ex))) { // 5′
        if (ex.wait) return;  // 5′: the hashes it needs are being read; asked again once they are
    } else if (refused(target, cors, method, req.version(), ex)) {                                  // 6
    } else if (serve_file(*now, route, target, hf, req, may_wait, ex)) {                            // 7
        return;  // 7′: waiting for a mirror's transfer, nothing to send yet
    }

    finalise(ex.reply, req, route, cors, conn.may_keep_alive);                                      // 8
    ex.reply.keep = now;  // the reply's pre-built lines live in this policy, even if a reload replaces it
}

bool Handler::serve_file(const InForce& now, const RoutePolicy& route, const Target& target, const HfRequest& hf,
                         const Request& req, bool may_wait, Exchange& ex) const {
    if (hf.active) {
        serve_hf(now.policy, now.resources, route, target, req, hf, ex.reply, ex.log.note);
    } else if (target.path == std::string_view("/")) {  // the root's index.html (without one, step 5 made the status page)
        Target index = target;
        index.path = "/index.html";
        serve_static(now.policy, now.resources, route, index, req, ex.reply, ex.log.note);
    } else if (bool waiting = false;
               answer_npm_alias(now.resources, mirrors_.get(), npm_documents_.get(), target, req, may_wait, ex, waiting)) {
        return waiting;  // a tag or range: the redirect to its exact version, or the wait for the package's document
    } else if (mirrors_ && mirrors_->covers(target.path) && mirrors_->rule_for(target.path).kind == config::MirrorConfig::Kind::npm) {
        if (npm_package_file(target.path, mirrors_->rule_for(target.path).path)) return from_mirror(now, route, target, req, may_wait, ex);
        ex.reply = error_reply(bhttp::status::not_found, req.version());  // 7′, asking the registry nothing
        ex.log.note = "mirror: only {package}@{version}/{path} is mirrored from a registry";
    } else if (mirrors_ && mirrors_->covers(target.path) &&
               mirrors_->rule_for(target.path).kind == config::MirrorConfig::Kind::huggingface) {
        return from_hf_mirror(*mirrors_, *hf_revisions_, now.policy, now.resources, route, target, req, may_wait, ex);  // 7′
    } else if (mirrors_ && mirrors_->covers(target.path) && !is_active_content(mime_type(target.last_segment()))) {
        return from_mirror(now, route, target, req, may_wait, ex);  // 7′
    } else {
        serve_static(now.policy, now.resources, route, target, req, ex.reply, ex.log.note);
    }
    return false;
}

// Step 7 under a mirror's path: the stored file, a failure, a file still arriving; or, true, a wait (`ex.wait` set:
// the session asks again when the transfer has news).
bool Handler::from_mirror(const InForce& now, const RoutePolicy& route, const Target& target, const Request& req,
                          bool may_wait, Exchange& ex) const {
    const Policy& policy = now.policy;
    mirror::Decision d = mirrors_->decide(target.path, query_of(req), may_wait);
    ex.log.note = d.note.empty() && !may_wait ? "mirror: waited for upstream" : d.note;
    switch (d.kind) {
        case mirror::Decision::Kind::wait: ex.wait = std::move(d.join); return true;
        case mirror::Decision::Kind::fail: ex.reply = error_reply(static_cast<bhttp::status>(d.status), req.version()); break;
        case mirror::Decision::Kind::stream:
            ex.reply = Reply{};  // a 404 when asked again after the stored file vanished
            serve_growing(policy, route, target, req, d.growing, d.last_modified, ex.reply, ex.log.note);
            break;
        case mirror::Decision::Kind::serve:
            serve_static(policy, now.resources, route, target, req, ex.reply, ex.log.note);
            // Evicted by another process sharing the root between its record and the lookup (also just after the
            // transfer this request waited for): filled again, not 404. Each round costs a whole fill.
            if (ex.reply.result() == bhttp::status::not_found) {
                if (mirrors_->vanished(target.path)) return from_mirror(now, route, target, req, true, ex);
                // Not found by the lookup, there again now: another process sharing the root evicted and filled it
                // again in between (or the lookup's "not there" was remembered from earlier in this pass). The
                // remembered answer is dropped and the file served; never a 404 for a file the upstream has.
                now.resources.files->forget(std::string_view(target.path).substr(1));
                ex.reply = Reply{};
                ex.log.note = "mirror: installed again by another process";
                serve_static(policy, now.resources, route, target, req, ex.reply, ex.log.note);
            }
            break;
    }
    return false;
}

std::optional<Exchange> Handler::screen(const Request& header) const {
    FramingVerdict v = check_framing(header, header.version());
    if (v.ok()) return std::nullopt;
    return reject(v.status, header, v.reason);
}

std::optional<Exchange> Handler::read_failed(ReadFailure why, bool started, const Request& partial,
                                             const std::string& detail) const {
    switch (why) {
        case ReadFailure::gone: return std::nullopt;
        case ReadFailure::timeout:  // an idle keep-alive ends silently; a half-received request is told why
            return started ? std::optional(reject(bhttp::status::request_timeout, partial, "request timeout")) : std::nullopt;
        case ReadFailure::header_limit:
            return reject(bhttp::status::request_header_fields_too_large, partial, "header over limits.max_header_bytes");
        case ReadFailure::framing_limit:
            return reject(bhttp::status::request_header_fields_too_large, partial,
                          "chunk lines and trailers over limits.max_header_bytes");
        case ReadFailure::body_limit:
            return reject(bhttp::status::payload_too_large, partial, "body over limits.max_body_bytes");
        case ReadFailure::malformed:
            return started ? std::optional(reject(bhttp::status::bad_request, partial, detail)) : std::nullopt;
    }
    return std::nullopt;
}

Exchange Handler::refuse_connection() const {
    return reject(bhttp::status::service_unavailable, Request{}, "connection limit");
}

Exchange Handler::reject(bhttp::status status, const Request& partial, const std::string& note) const {
    const std::shared_ptr<const InForce> now = now_.load(std::memory_order_acquire);
    Exchange ex;
    ex.reply = error_reply(status, 11);
    take_log_facts(partial, access_log_.load(std::memory_order_relaxed), ex.log);
    ex.log.note = note;
    if (ex.log.method.empty()) ex.log.method.assign(1, '-');  // not = "-": GCC 12 -Wrestrict false positive (PR 105651)
    const RoutePolicy& route = route_of(now->policy, parse_target(partial.target()));
    CorsDecision cors = decide_cors(route.cors, partial, bhttp::verb::get);  // never a preflight: answer as an error
    finalise(ex.reply, partial, route, cors, false);
    ex.reply.keep = now;
    return ex;
}

}  // namespace modelhost::http
