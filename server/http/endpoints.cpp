// Each endpoint's reply: its status, type and caching; the catalog's figures as the catalog service last made them.
#include "http/endpoints.hpp"

#include "http/cache_control.hpp"
#include "http/mime.hpp"
#include "http/reply.hpp"
#include "http/resources.hpp"
#include "http/target.hpp"
#include "metrics/metrics.hpp"
#include "version.hpp"

namespace modelhost::http {

namespace {

// The request-target without its query string, as sent.
std::string_view raw_path(const Request& req) {
    std::string_view t(req.target().data(), req.target().size());
    return t.substr(0, t.find('?'));
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
    res.body().blob = fs::bytes_of(json);
    res.body().length = json->size();
    return res;
}

}  // namespace

Endpoints::Endpoints(const config::Config& cfg) : paths_(endpoint_paths(cfg.health.prefix)), tls_(cfg.tls.enabled()) {
    route_labels_.push_back("top level");
    for (const auto& r : cfg.routes) route_labels_.push_back(r.path);
    status_.allow_origins = cfg.cors.allow_origins;
    status_.credentials = cfg.cors.allow_credentials;
    status_.routes = cfg.routes.size();
    status_.version = modelhost::version;
}

bool Endpoints::answer(const Request& req, const Target& target, bool draining, const Resources& r, Exchange& ex) const {
    const unsigned version = req.version();
    const std::string_view sent = raw_path(req);
    if (sent == paths_.healthz || sent == paths_.readyz) {
        ex.reply = health_reply(sent == paths_.healthz || !draining, version);
        ex.log.note = "health";
    } else if (sent == paths_.metrics) {
        ex.reply = metrics_reply(r, version);
        ex.log.note = "metrics";
    } else if (sent == paths_.status && paths_.status != "/") {
        ex.reply = status_reply(req, r);
        ex.log.note = "status page";
    } else if (target.verdict != Target::Verdict::ok) {
        return false;
    } else if (target.path == models_path) {
        ex.reply = models_reply(r.catalog->models_json(), version);
    } else if (target.path == "/" && r.files->open("index.html").result != fs::Lookup::Result::found) {
        ex.reply = status_reply(req, r);  // the root without an index.html
        ex.log.note = "status page";
    } else {
        return false;
    }
    return true;
}

// Prometheus text exposition (0.0.4) of the counters, with this policy's routes and the catalog's counts; never cached.
Reply Endpoints::metrics_reply(const Resources& r, unsigned version) const {
    metrics::ScrapeFacts f;
    f.route_labels = route_labels_;
    f.version = modelhost::version;
    if (auto summary = r.catalog->summary()) {
        f.models.assign(summary->by_format.begin(), summary->by_format.end());
    }
    Reply res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(bhttp::field::cache_control, never_store);
    res.body().text = metrics::exposition(f);
    return res;
}

// The status page (http/status_page.hpp): HTML with its own CSP, always revalidated. Made again only when the
// catalog's summary or the base URL differs from the last page's.
Reply Endpoints::status_reply(const Request& req, const Resources& r) const {
    std::string base_url;
    auto host = req[bhttp::field::host];  // checked by the framing step (RFC 9112 §3.2)
    if (!host.empty()) base_url = std::string(tls_ ? "https://" : "http://").append(host.data(), host.size());
    auto summary = r.catalog->summary();
    auto made = last_page_.load(std::memory_order_acquire);
    if (!made || made->summary != summary || made->base_url != base_url) {
        StatusFacts f = status_;
        f.base_url = base_url;
        auto html = std::make_shared<const std::string>(status_page(summary.get(), f));
        made = std::make_shared<const MadePage>(MadePage{std::move(summary), std::move(base_url), std::move(html)});
        last_page_.store(made, std::memory_order_release);
    }
    Reply res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.set(bhttp::field::cache_control, always_revalidate);
    res.set("Content-Security-Policy", status_page_csp);
    res.body().blob = fs::bytes_of(made->html);
    res.body().length = made->html->size();
    return res;
}

}  // namespace modelhost::http
