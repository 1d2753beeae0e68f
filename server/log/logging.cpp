// Access lines as text or JSON on stdout, next to the server's own log lines.
#include "log/logging.hpp"

#include "http/handler.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace modelhost::log {

namespace {

std::atomic<bool> access_enabled{true};
std::atomic<bool> access_json{false};
std::shared_ptr<spdlog::logger> access_logger;

// A JSON string literal, safe for any bytes a client can send.
std::string json_quoted(std::string_view s) {
    return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void setup(const config::LogConfig& cfg) {
    // Separate sinks so each logger keeps its own pattern; stdout sinks share one console mutex.
    auto main = std::make_shared<spdlog::logger>("modelhost", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    main->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    main->set_level(spdlog::level::from_str(cfg.level));
    main->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(main);

    access_logger = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    access_logger->set_pattern(cfg.format == config::LogFormat::json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e%z access %v");
    access_logger->set_level(spdlog::level::info);
    access_logger->flush_on(spdlog::level::info);
    access_enabled = cfg.access_log && main->level() != spdlog::level::off;
    access_json = cfg.format == config::LogFormat::json;
}

void access(const AccessRecord& rec) {
    if (!access_enabled.load(std::memory_order_relaxed) || !access_logger) return;
    const auto& f = rec.facts;
    if (access_json.load(std::memory_order_relaxed)) {
        access_logger->info(R"({{"type":"access","remote":{},"method":{},"target":{},"status":{},"bytes":{},"ms":{:.3f},"origin":{},"note":{}}})",
                            json_quoted(rec.remote), json_quoted(f.method), json_quoted(f.target), rec.status, rec.bytes, rec.ms,
                            json_quoted(f.origin), json_quoted(f.note));
    } else {
        access_logger->info("{} {} {} {} {:.3f}ms origin={}{}{}", rec.remote, json_quoted(f.method + " " + f.target),
                            rec.status, rec.bytes, rec.ms, f.origin.empty() ? std::string("-") : json_quoted(f.origin),
                            f.note.empty() ? "" : " note=", f.note.empty() ? std::string() : json_quoted(f.note));
    }
}

}  // namespace modelhost::log
