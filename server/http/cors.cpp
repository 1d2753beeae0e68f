// The CORS rules of docs/ARCHITECTURE.md ("What correct CORS means"): exact-or-* ACAO, Vary: Origin whenever the answer depends on Origin,
// refused origins get the normal response without CORS headers, refused preflights get 403.
#include "http/cors.hpp"

#include "config/load.hpp"
#include "base/text.hpp"
#include "http/vary.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>

namespace modelhost::http {

namespace bhttp = boost::beast::http;

namespace {

bool origin_allowed(const CorsPolicy& p, std::string_view value) {
    auto origin = parse_origin(value);
    if (!origin) return false;  // malformed Origin headers are never allowed
    return std::any_of(p.rules.begin(), p.rules.end(), [&](const OriginRule& r) { return matches(r, *origin); });
}

// Checks a preflight's requested method and headers; fills the refusal into `d`.
void check_preflight(const CorsPolicy& p, const bhttp::fields& req, CorsDecision& d) {
    auto method = req[bhttp::field::access_control_request_method];
    if (std::find(p.methods.begin(), p.methods.end(), std::string_view(method.data(), method.size())) == p.methods.end()) {
        d.verdict = CorsDecision::Verdict::refused_method;
        d.note = "CORS preflight: method " + std::string(method) + " not allowed";
        return;
    }
    auto requested = req[bhttp::field::access_control_request_headers];
    std::vector<std::string> reflected;
    bool ok = for_each_list_item({requested.data(), requested.size()}, [&](std::string_view item) {
        std::string name = to_lower(item);
        if (!p.any_header && std::find(p.headers_lower.begin(), p.headers_lower.end(), name) == p.headers_lower.end()) {
            d.verdict = CorsDecision::Verdict::refused_header;
            d.note = "CORS preflight: header " + name + " not allowed";
            return false;
        }
        reflected.push_back(std::move(name));
        return true;
    });
    if (!ok) return;
    // With credentials "*" is not a wildcard to browsers, so it means "reflect what was asked".
    d.allow_headers = p.any_header && p.credentials ? join(reflected) : p.allow_headers;
    d.private_network = p.private_network && boost::beast::iequals(req["Access-Control-Request-Private-Network"], "true");
}

// Each allow_origins entry parsed once, at load: the request path compares pre-parsed rules only.
std::vector<OriginRule> compile_origins(const config::CorsConfig& cfg) {
    std::vector<OriginRule> rules;
    for (std::size_t i = 0; i < cfg.allow_origins.size(); ++i) {
        auto rule = compile_origin_rule(cfg.allow_origins[i]);
        if (auto* why = std::get_if<std::string>(&rule))
            throw config::ConfigError(cfg.key + ".allow_origins[" + std::to_string(i) + "]: \"" + cfg.allow_origins[i] +
                                      "\" " + *why + (cfg.origins_source.empty() ? "" : " (set in " + cfg.origins_source + ")"));
        rules.push_back(std::get<OriginRule>(rule));
    }
    return rules;
}

}  // namespace

CorsPolicy::CorsPolicy(const config::CorsConfig& cfg)
    : credentials(cfg.allow_credentials),
      rules(compile_origins(cfg)),
      methods(cfg.allow_methods),
      allow_methods(join(cfg.allow_methods)),
      allow_headers(join(cfg.allow_headers)),
      expose_headers(join(cfg.expose_headers)),
      max_age(std::to_string(cfg.max_age)),
      private_network(cfg.allow_private_network) {
    bool any_origin = std::any_of(rules.begin(), rules.end(), [](const OriginRule& r) { return r.kind == OriginRule::Kind::any; });
    wildcard = any_origin && !credentials;
    varies = !wildcard && !rules.empty();
    if (wildcard) {
        wildcard_lines.append("Access-Control-Allow-Origin: *\r\n");
        if (!expose_headers.empty()) wildcard_lines.append("Access-Control-Expose-Headers: ").append(expose_headers).append("\r\n");
    }
    for (const auto& h : cfg.allow_headers) {
        if (h == "*") any_header = true;
        headers_lower.push_back(to_lower(h));
    }
}

CorsDecision decide_cors(const CorsPolicy& p, const bhttp::fields& req, bhttp::verb method) {
    CorsDecision d;
    auto origin = req[bhttp::field::origin];
    bool has_origin = req.find(bhttp::field::origin) != req.end();
    d.preflight = method == bhttp::verb::options && has_origin &&
                  req.find(bhttp::field::access_control_request_method) != req.end();
    if (p.wildcard) {
        d.verdict = CorsDecision::Verdict::allowed;
        d.allow_origin.assign(1, '*');  // not = "*": GCC 12 -Wrestrict false positive (PR 105651)
    } else if (!has_origin) {
        return d;
    } else if (origin_allowed(p, std::string_view(origin.data(), origin.size()))) {
        d.verdict = CorsDecision::Verdict::allowed;
        d.allow_origin = std::string(origin);
    } else {
        d.verdict = CorsDecision::Verdict::refused_origin;
        d.note = "CORS: origin not allowed";
        return d;
    }
    if (d.preflight) check_preflight(p, req, d);
    return d;
}

std::string_view apply_cors(bhttp::fields& res, const CorsPolicy& p, const CorsDecision& d) {
    if (p.wildcard && d.verdict == CorsDecision::Verdict::allowed && !d.preflight) return p.wildcard_lines;
    if (p.varies) append_vary(res, "Origin");
    if (d.preflight) {
        append_vary(res, "Access-Control-Request-Method");
        append_vary(res, "Access-Control-Request-Headers");
    }
    if (d.verdict != CorsDecision::Verdict::allowed) return {};
    res.set(bhttp::field::access_control_allow_origin, d.allow_origin);
    if (p.credentials) res.set(bhttp::field::access_control_allow_credentials, "true");
    if (!d.preflight) {
        if (!p.expose_headers.empty()) res.set(bhttp::field::access_control_expose_headers, p.expose_headers);
        return {};
    }
    res.set(bhttp::field::access_control_allow_methods, p.allow_methods);
    if (!d.allow_headers.empty()) res.set(bhttp::field::access_control_allow_headers, d.allow_headers);
    res.set(bhttp::field::access_control_max_age, p.max_age);
    if (d.private_network) res.set("Access-Control-Allow-Private-Network", "true");
    return {};
}

}  // namespace modelhost::http
