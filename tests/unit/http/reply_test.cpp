// The response's wire head and the finalise step, as a client reads them.
#include "catch.hpp"

#include "config/config.hpp"
#include "http/cors.hpp"
#include "http/finalise.hpp"
#include "http/message.hpp"
#include "http/policy.hpp"

#include <algorithm>

using namespace modelhost;
using namespace modelhost::http;

namespace {

std::size_t count(const std::string& head, const std::string& line_start) {
    std::size_t n = 0;
    for (auto pos = head.find("\r\n" + line_start); pos != std::string::npos; pos = head.find("\r\n" + line_start, pos + 2)) ++n;
    return n;
}

Request get(const std::string& target, const std::string& origin = "") {
    Request req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "x");
    if (!origin.empty()) req.set(bhttp::field::origin, origin);
    return req;
}

}  // namespace

TEST_CASE("the head is the status line, fields, Content-Length, Date, route, CORS and representation lines, a blank line", "[reply]") {
    Reply res{bhttp::status::ok, 11};
    res.set(bhttp::field::vary, "Origin");
    res.content_length_header = 3;
    res.route_lines = "Server: t\r\n";
    res.cors_lines = "Access-Control-Allow-Origin: *\r\n";
    auto rep = std::make_shared<RepresentationHead>();
    rep->lines = "ETag: \"e\"\r\nContent-Type: x/y\r\n";
    rep->validators_end = std::string("ETag: \"e\"\r\n").size();
    res.representation = rep;
    std::string head;
    serialize_head(res, head);
    CHECK(head == "HTTP/1.1 200 OK\r\nVary: Origin\r\nContent-Length: 3\r\nServer: t\r\nAccess-Control-Allow-Origin: *\r\n"
                  "ETag: \"e\"\r\nContent-Type: x/y\r\n\r\n");
    res.result(bhttp::status::not_modified);
    res.validators_only = true;
    serialize_head(res, head);
    CHECK(head.find("Content-Type") == std::string::npos);  // a 304 repeats only the validator lines
    CHECK(head.find("ETag: \"e\"") != std::string::npos);
}

TEST_CASE("error replies are short texts named by their status", "[reply]") {
    Reply r = error_reply(bhttp::status::not_found, 11);
    CHECK(r.body().text == "404 Not Found\n");
    CHECK(r[bhttp::field::content_type] == "text/plain; charset=utf-8");
}

TEST_CASE("finalise: length, Date, route lines and CORS on any response, no body on 304 or HEAD", "[finalise]") {
    config::CorsConfig cc;
    cc.allow_origins = {"https://app.example.com"};
    RoutePolicy route(CorsPolicy(cc), {{"Cross-Origin-Resource-Policy", "cross-origin"}});
    Request req = get("/a", "https://app.example.com");
    Reply res = error_reply(bhttp::status::not_found, 11);
    finalise(res, req, route, decide_cors(route.cors, req, bhttp::verb::get), true);
    std::string head;
    serialize_head(res, head);
    CHECK(count(head, "Content-Length: 14") == 1);
    CHECK(count(head, "Date: ") == 1);
    CHECK(count(head, "Access-Control-Allow-Origin: https://app.example.com") == 1);
    CHECK(count(head, "Vary: Origin") == 1);
    CHECK(count(head, "Cross-Origin-Resource-Policy: cross-origin") == 1);
    CHECK(count(head, "X-Content-Type-Options: nosniff") == 1);
    CHECK(res.keep_alive());

    Reply nm{bhttp::status::not_modified, 11};
    nm.body().text = "ignored";
    finalise(nm, req, route, decide_cors(route.cors, req, bhttp::verb::get), false);
    CHECK(nm.body().omitted);
    CHECK_FALSE(nm.content_length_header);
    CHECK_FALSE(nm.keep_alive());

    Request head_req = get("/a");
    head_req.method(bhttp::verb::head);
    Reply h = error_reply(bhttp::status::not_found, 11);
    finalise(h, head_req, route, decide_cors(route.cors, head_req, bhttp::verb::head), true);
    CHECK(h.body().omitted);
    CHECK(h.content_length_header == 14u);  // what a GET would have sent
}

TEST_CASE("a configured header owns its name: the pipeline's field of that name is dropped", "[finalise][policy]") {
    RoutePolicy route(CorsPolicy(config::CorsConfig{}), {{"Content-Type", "x/custom"}, {"Server", "edge"}, {"content-type", "x/last"}});
    CHECK(route.configures("content-type"));
    CHECK(route.fixed_lines.find("Content-Type: x/custom") == std::string::npos);  // the last spelling wins
    CHECK(route.fixed_lines.find("content-type: x/last") != std::string::npos);
    CHECK(route.fixed_lines.find("Server: edge") != std::string::npos);
    Request req = get("/a");
    Reply res = error_reply(bhttp::status::not_found, 11);
    finalise(res, req, route, decide_cors(route.cors, req, bhttp::verb::get), true);
    std::string head;
    serialize_head(res, head);
    CHECK(count(head, "content-type: ") + count(head, "Content-Type: ") == 1);
    CHECK(count(head, "Server: ") == 1);
}
