// The request pipeline. Steps, in the order the code follows them:
//   1. target: Boost.URL parse (unless nothing needs decoding), decode once, drop the query, normalise, refuse escapes
//      (400/404/414)
//   2. route: first matching routes[] glob, else the top-level policy
//   3. CORS decision: made once here, applied by finalise
//   4. method gate: GET, HEAD, OPTIONS; anything else 405 + Allow
//   5. endpoints under <health.prefix> (/healthz, /readyz, /metrics, / the status page; matched literally: the prefix
//      may be a dot-folder); refused target -> its status; preflight -> 204 or 403; other OPTIONS -> 204 + Allow
//   6. built-in endpoints: GET /v1/models (the model catalog as JSON); "/" -> the root's index.html, else the status page
//   7. the file: facts -> representation -> conditionals (304/412) -> range (206/416); see static_file.cpp
//   8. finalise: CORS, Vary, common and configured headers, framing, keep-alive — for every response
#include "http/handler.hpp"

#include "http/finalise.hpp"
#include "http/framing.hpp"
#include "http/mime.hpp"
#include "http/policy.hpp"
#include "http/static_file.hpp"
#include "http/status_page.hpp"
#include "http/target.hpp"
#include "metrics/metrics.hpp"
#include "mirror/mirror.hpp"
#include "version.hpp"

#include <nlohmann/json.hpp>

namespace modelhost::http {

namespace {

constexpr const char* allowed_methods = "GET, HEAD, OPTIONS";
constexpr std::string_view models_endpoint = "/v1/models";

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

// The request-target without its query string, as sent.
std::string_view raw_path(const Request& req) {
    std::string_view t(req.target().data(), req.target().size());
    return t.substr(0, t.find('?'));
}

// The request-target's query, without the '?' ("" when none).
std::string_view query_of(const Request& req) {
    std::string_view t(req.target().data(), req.target().size());
    auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

// Liveness is always 200; readiness is 503 once the server is draining. Never cached.
Reply health_reply(bool ready, unsigned version) {
    Reply res{ready ? bhttp::status::ok : bhttp::status::service_unavailable, version};
    res.set(bhttp::field::content_type, plain_text_type);
    res.set(bhttp::field::cache_control, never_store);
    res.body().text = ready ? "ok\n" : "draining\n";
    return res;
}

// The catalog as JSON; 503 until the first scan (which runs off the I/O threads) has finished.
Reply models_reply(const std::shared_ptr<const std::string>& json, unsigned version) {
    if (!json) {
        Reply res = error_reply(bhttp::status::service_unavailable, version);
        res.set(bhttp::field::retry_after, "1");
        res.set(bhttp::field::cache_control, never_store);
        return res;
    }
    Reply res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, json_type);
    res.set(bhttp::field::cache_control, always_revalidate);
    res.body().blob = json;
    res.body().length = json->size();
    return res;
}

// Prometheus text exposition (0.0.4) of the counters, with the routes and models of this policy; never cached.
Reply metrics_reply(const Policy& p, unsigned version) {
    metrics::ScrapeFacts f;
    f.route_labels.push_back("top level");
    for (const auto& [glob, route] : p.routes) f.route_labels.push_back(glob);
    f.version = modelhost::version;
    if (auto json = p.catalog->models_json()) {
        auto doc = nlohmann::json::parse(*json, nullptr, false);
        if (doc.is_object() && doc.contains("models") && doc["models"].is_array())
            for (const auto& m : doc["models"]) (m.value("status", "") == "ok" ? f.models_ok : f.models_broken) += 1;
    }
    Reply res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(bhttp::field::cache_control, never_store);
    res.body().text = metrics::exposition(f);
    return res;
}

// The status page (http/status_page.hpp): HTML with its own CSP, always revalidated.
Reply status_reply(const Policy& p, const Request& req, unsigned version) {
    StatusFacts f;
    auto host = req[bhttp::field::host];  // checked by the framing step (RFC 9112 §3.2)
    if (!host.empty()) f.base_url = std::string(p.tls ? "https://" : "http://").append(host.data(), host.size());
    f.allow_origins = p.allow_origins;
    f.credentials = p.credentials;
    f.routes = p.routes.size();
    f.version = modelhost::version;
    auto json = p.catalog->models_json();
    Reply res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.set(bhttp::field::cache_control, always_revalidate);
    res.set("Content-Security-Policy", status_page_csp);
    res.body().text = status_page(json.get(), f);
    return res;
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

// Numbers every policy a Handler installs, across the process, so a number is never reused (see current_policy).
std::atomic<std::uint64_t> policies_installed{0};

}  // namespace

Handler::Handler(const config::Config& cfg)
    : policy_(std::make_shared<Policy>(cfg)), generation_(++policies_installed), access_log_(cfg.log.access_log) {
    if (!cfg.mirrors.empty()) mirrors_ = std::make_unique<mirror::Mirrors>(cfg.mirrors, cfg.server.root);
}

void Handler::reload(const config::Config& cfg) {
    auto next = std::make_shared<Policy>(cfg);  // throws: the running policy stays
    if (request_pass_end_) next->files.set_pass_end(request_pass_end_);
    access_log_.store(cfg.log.access_log, std::memory_order_relaxed);
    policy_.store(std::move(next), std::memory_order_release);
    generation_.store(++policies_installed, std::memory_order_release);  // after the policy: whoever sees it sees that
}

// Each thread keeps the policy it last used with its number, and reads the shared pointer again only when the number
// differs (a reload, or another Handler): a request costs no atomic read-modify-write here. The reference holds until
// this thread's next call. A thread that serves nothing after a reload keeps the old policy until its next request.
const std::shared_ptr<Policy>& Handler::current_policy() const {
    struct Seen {
        std::uint64_t generation = 0;
        std::shared_ptr<Policy> policy;
    };
    thread_local Seen seen;
    const std::uint64_t now = generation_.load(std::memory_order_acquire);
    if (seen.generation != now) {
        seen.policy = policy_.load(std::memory_order_acquire);
        seen.generation = now;
    }
    return seen.policy;
}

void Handler::set_pass_end(std::function<bool()> request_pass_end) {
    request_pass_end_ = std::move(request_pass_end);
    policy_.load()->files.set_pass_end(request_pass_end_);
}

void Handler::end_pass() const { policy_.load(std::memory_order_acquire)->files.end_pass(); }

Handler::~Handler() = default;

void Handler::close_mirrors() {
    if (mirrors_) mirrors_->close();
}

Exchange Handler::handle(const Request& req, const ConnectionFacts& conn, bool may_wait) const {
    Exchange ex;
    handle(req, conn, may_wait, ex);
    return ex;
}

void Handler::handle(const Request& req, const ConnectionFacts& conn, bool may_wait, Exchange& ex) const {
    const std::shared_ptr<Policy>& policy = current_policy();  // one policy per request
    take_log_facts(req, access_log_.load(std::memory_order_relaxed), ex.log);
    const unsigned version = req.version();
    Reply& res = ex.reply;
    const auto method = req.method();

    thread_local Target target;  // reused by every request of this thread: no allocation per request
    parse_target(req.target(), target);                                                            // 1
    const RoutePolicy& route = route_of(*policy, target);                                         // 2
    CorsDecision cors = decide_cors(route.cors, req, method);                                      // 3
    ex.log.note = cors.note;
    ex.method_index = method_index(method);
    ex.route_index = route.index;
    count_cors(cors);
    const std::string_view sent_path = raw_path(req);  // endpoints match the path as sent

    if (method != bhttp::verb::get && method != bhttp::verb::head && method != bhttp::verb::options) {  // 4
        res = error_reply(bhttp::status::method_not_allowed, version);
        res.set(bhttp::field::allow, allowed_methods);
    } else if (method != bhttp::verb::options && (sent_path == policy->healthz || sent_path == policy->readyz)) {  // 5
        res = health_reply(sent_path == policy->healthz || !conn.draining, version);
        ex.log.note = "health";
    } else if (method != bhttp::verb::options && sent_path == policy->metrics) {
        res = metrics_reply(*policy, version);
        ex.log.note = "metrics";
    } else if (method != bhttp::verb::options && sent_path == policy->status && policy->status != "/") {
        res = status_reply(*policy, req, version);
        ex.log.note = "status page";
    } else if (target.verdict != Target::Verdict::ok && target.verdict != Target::Verdict::asterisk) {
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
    } else if (target.path == models_endpoint) {                                                   // 6
        res = models_reply(policy->catalog->models_json(), version);
    } else if (target.path == std::string_view("/")) {  // the root: its index.html, else the status page
        Target index = target;
        index.path = "/index.html";
        bool has_index = policy->files.open("index.html").result == fs::Lookup::Result::found;
        if (has_index) {
            serve_static(*policy, route, index, req, res, ex.log.note);
        } else {
            res = status_reply(*policy, req, version);
            ex.log.note = "status page";
        }
    } else if (mirrors_ && mirrors_->covers(target.path) && !is_active_content(mime_type(target.last_segment()))) {
        if (from_mirror(*policy, route, target, req, may_wait, ex)) return;  // 7′: nothing to send yet
    } else {
        serve_static(*policy, route, target, req, res, ex.log.note);                                      // 7
    }

    finalise(res, req, route, cors, conn.may_keep_alive);                                          // 8
    res.keep = policy;  // the reply's pre-built lines live in this policy, even if a reload replaces it
}

// Step 7 under a mirror's path: the stored file, a failure, a file still arriving; or, true, a wait (`ex.wait` set:
// the session asks again when the transfer has news).
bool Handler::from_mirror(const Policy& policy, const RoutePolicy& route, const Target& target, const Request& req,
                          bool may_wait, Exchange& ex) const {
    mirror::Decision d = mirrors_->decide(target.path, query_of(req), may_wait);
    ex.log.note = d.note.empty() && !may_wait ? "mirror: waited for upstream" : d.note;
    switch (d.kind) {
        case mirror::Decision::Kind::wait: ex.wait = std::move(d.join); return true;
        case mirror::Decision::Kind::fail: ex.reply = error_reply(static_cast<bhttp::status>(d.status), req.version()); break;
        case mirror::Decision::Kind::stream: ex.reply = serve_growing(policy, route, target, req, d.growing, d.last_modified); break;
        case mirror::Decision::Kind::serve:
            serve_static(policy, route, target, req, ex.reply, ex.log.note);
            // Evicted by another process sharing the root between its record and the lookup (also just after the
            // transfer this request waited for): filled again, not 404. Each round costs a whole fill.
            if (ex.reply.result() == bhttp::status::not_found) {
                if (mirrors_->vanished(target.path)) return from_mirror(policy, route, target, req, true, ex);
                // Not found by the lookup, there again now: another process sharing the root evicted and filled it
                // again in between (or the lookup's "not there" was remembered from earlier in this pass). The
                // remembered answer is dropped and the file served; never a 404 for a file the upstream has.
                policy.files.forget(std::string_view(target.path).substr(1));
                ex.reply = Reply{};
                ex.log.note = "mirror: installed again by another process";
                serve_static(policy, route, target, req, ex.reply, ex.log.note);
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
    const std::shared_ptr<const Policy> policy = policy_.load(std::memory_order_acquire);
    Exchange ex;
    ex.reply = error_reply(status, 11);
    take_log_facts(partial, access_log_.load(std::memory_order_relaxed), ex.log);
    ex.log.note = note;
    if (ex.log.method.empty()) ex.log.method.assign(1, '-');  // not = "-": GCC 12 -Wrestrict false positive (PR 105651)
    const RoutePolicy& route = route_of(*policy, parse_target(partial.target()));
    CorsDecision cors = decide_cors(route.cors, partial, bhttp::verb::get);  // never a preflight: answer as an error
    finalise(ex.reply, partial, route, cors, false);
    ex.reply.keep = policy;
    return ex;
}

}  // namespace modelhost::http
