// Where a server's log lines go, and the one access-log line per request.
#pragma once

#include "config/config.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace modelhost::log {

struct AccessRecord;

// One server's logging: its own lines and its access records. The binary's (`setup`) writes both to stdout; an
// embedding app's (embed/, the library's Server) hands them to its callbacks. Code running for a server reaches its
// context through the thread (`Use`): its event loops and the threads they start (mirror transfers) set it. No
// context, no line: the library never writes to spdlog's default logger or any other process-wide one.
struct Context {
    std::shared_ptr<spdlog::logger> main;                // the server's own lines (never registered with spdlog)
    std::shared_ptr<spdlog::logger> access;              // access lines as text or JSON; unused with `on_access`
    std::function<void(const AccessRecord&)> on_access;  // set: each access record goes here
    std::atomic<bool> access_enabled{true};
    std::atomic<bool> access_json{false};
};

// The binary's context, on stdout, from `log.*`; it becomes the process's (every thread without one of its own uses
// it) and spdlog's default logger (the start-up lines). Lines are flushed every second and at exit.
void setup(const config::LogConfig& cfg);

// Sets a context's loggers from `log.*`: the level and format of its lines, whether and how access records go out.
void configure(Context& c, const config::LogConfig& cfg);

// Applies a reloaded `log.*` (level, format, access log) to the calling thread's context; lines being written finish.
void reconfigure(const config::LogConfig& cfg);

// The calling thread's context: its own (`Use`), else the process's (`setup`), else null.
const std::shared_ptr<Context>& current();

// Sets the calling thread's context for its lifetime, then puts the previous one back.
class Use {
public:
    explicit Use(std::shared_ptr<Context> context);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

private:
    std::shared_ptr<Context> previous_;
};

// A line in the calling thread's context (nothing without one).
template <class... Args>
void write(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
    if (const auto& c = current(); c && c->main) c->main->log(level, format, std::forward<Args>(args)...);
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) { write(spdlog::level::debug, format, std::forward<Args>(args)...); }
template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) { write(spdlog::level::info, format, std::forward<Args>(args)...); }
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) { write(spdlog::level::warn, format, std::forward<Args>(args)...); }
template <class... Args>
void error(fmt::format_string<Args...> format, Args&&... args) { write(spdlog::level::err, format, std::forward<Args>(args)...); }

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

// One access record, in the calling thread's context.
void access(const AccessRecord& rec);

// The line `access` writes (after the time stamp, in text): text, or one JSON object (log.format json). Every byte a
// client sent is quoted, so the line stays one line, and valid JSON.
std::string access_line(const AccessRecord& rec, bool json);

// Writes out the calling thread's context's buffered lines (at shutdown).
void flush();

}  // namespace modelhost::log
