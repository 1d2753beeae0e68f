// Common headers for every response, errors and preflights included.
#include "http/finalise.hpp"

#include "version.hpp"

#include <chrono>
#include <ctime>

namespace modelhost::http {

namespace {

// The IMF-fixdate for now, formatted at most once per second per thread.
std::string_view http_date() {
    thread_local std::time_t last = 0;
    thread_local char buf[40];
    std::time_t now = std::time(nullptr);
    if (now != last) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return buf;
}

// RFC 9110 §6.4.1: these statuses never carry content.
bool never_has_body(bhttp::status s) {
    auto code = static_cast<unsigned>(s);
    return code < 200 || code == 204 || code == 304;
}

}  // namespace

void finalise(Reply& res, const Request& req, const RoutePolicy& route, const CorsDecision& cors, bool keep_alive) {
    res.set(bhttp::field::server, server_token);
    res.set(bhttp::field::date, http_date());
    res.set("X-Content-Type-Options", "nosniff");
    apply_cors(res, route.cors, cors);
    for (const auto& [name, value] : route.headers) res.set(name, value);

    if (never_has_body(res.result())) {
        res.body() = {};
        res.body().omitted = true;
        res.erase(bhttp::field::content_length);
    } else {
        res.content_length(res.body().declared_size());
        if (req.method() == bhttp::verb::head) res.body().omitted = true;
    }
    res.keep_alive(keep_alive && req.keep_alive());
}

Reply error_reply(bhttp::status status, unsigned version) {
    Reply res{status, version};
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.body().text = std::to_string(static_cast<unsigned>(status)) + " " + std::string(bhttp::obsolete_reason(status)) + "\n";
    return res;
}

}  // namespace modelhost::http
