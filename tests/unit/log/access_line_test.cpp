// The access-log line: one line per request, whatever bytes the client sent, as text or as one JSON object.
#include "catch.hpp"

#include "log/logging.hpp"

#include <nlohmann/json.hpp>

using modelhost::log::AccessRecord;
using modelhost::log::access_line;

TEST_CASE("a text access line has the request quoted, the status, bytes, time and a dash for no origin", "[log]") {
    AccessRecord r{"127.0.0.1:5000", "HTTP/1.1", "GET", "/face/model.json", "", "", 200, 1234, 0.25};
    CHECK(access_line(r, false) == R"(127.0.0.1:5000 "GET /face/model.json HTTP/1.1" 200 1234 0.250ms origin=-)");
}

TEST_CASE("a text access line names the origin and the note when there are any", "[log]") {
    AccessRecord r{"[::1]:9", "HTTP/2", "OPTIONS", "/a", "https://app.example", "CORS: origin not allowed", 403, 0, 1};
    CHECK(access_line(r, false) ==
          R"([::1]:9 "OPTIONS /a HTTP/2" 403 0 1.000ms origin="https://app.example" note="CORS: origin not allowed")");
}

TEST_CASE("control bytes, quotes and non-ASCII bytes a client sent are escaped, so the line stays one line", "[log]") {
    AccessRecord r{"1.2.3.4:1", "HTTP/1.1", "GET", "/a\"\n\x1b\xff", "x\\y", "", 400, 11, 0};
    auto text = access_line(r, false);
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text == R"(1.2.3.4:1 "GET /a\"\u000a\u001b\u00ff HTTP/1.1" 400 11 0.000ms origin="x\\y")");
}

TEST_CASE("a JSON access line is one object that parses back to what was recorded, hostile bytes included", "[log]") {
    AccessRecord r{"1.2.3.4:1", "HTTP/1.1", "GET", "/a\"\n\x01", "https://o.example", "note \"q\"", 304, 0, 2.5};
    auto line = access_line(r, true);
    CHECK(line.find('\n') == std::string::npos);
    auto j = nlohmann::json::parse(line);
    CHECK(j["type"] == "access");
    CHECK(j["target"] == "/a\"\n\x01");
    CHECK(j["status"] == 304);
    CHECK(j["origin"] == "https://o.example");
    CHECK(j["note"] == "note \"q\"");
    CHECK(j["ms"] == 2.5);
}
