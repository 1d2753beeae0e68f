// spdlog set-up and the one access-log line per request.
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace modelhost::log {

// Configures the default logger (level, pattern) and the access log from `log.*`.
void setup(const config::LogConfig& cfg);

// Applies a reloaded `log.*` (level, format, access log) to the loggers `setup` made; lines being written finish.
void reconfigure(const config::LogConfig& cfg);

// Everything one access-log line reports, as plain values (the logger sits below the pipeline that makes them).
struct AccessRecord {
    std::string_view remote;
    std::string_view protocol;  // "HTTP/1.1", "HTTP/1.0", "HTTP/2"
    std::string_view method;
    std::string_view target;
    std::string_view origin;    // empty when the request had none
    std::string_view note;      // why a request was refused, or empty
    unsigned status;
    std::uint64_t bytes;
    double ms;
};

void access(const AccessRecord& rec);

// The line `access` writes (after the time stamp, in text): text, or one JSON object (log.format json). Every byte a
// client sent is quoted, so the line stays one line, and valid JSON.
std::string access_line(const AccessRecord& rec, bool json);

// Writes out buffered log lines (at shutdown).
void flush();

}  // namespace modelhost::log
