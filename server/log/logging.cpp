// Access lines as text or JSON on stdout, next to the server's own log lines.
#include "log/logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string_view>
#include <utility>

namespace modelhost::log {

namespace {

// Appends `s` as a JSON string literal; control, quote, backslash and non-ASCII bytes are escaped, so a line
// stays valid JSON (and one line) whatever bytes a client sent.
template <class Buffer>
void append_quoted(Buffer& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20 || c >= 0x7f) {
            const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.append(esc, esc + sizeof esc);
        } else {
            out.push_back(ch);
        }
    }
    out.push_back('"');
}

// %k: the level as log.level spells it ("warn", not spdlog's "warning").
class LevelFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        static constexpr std::string_view names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
        auto name = names[static_cast<std::size_t>(msg.level)];
        dest.append(name.data(), name.data() + name.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelFlag>(); }
};

// %q: the message as a JSON string literal.
class QuotedMessageFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        append_quoted(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<QuotedMessageFlag>(); }
};

// The server's own lines: text, or one JSON object per line (log.format), with the level spelt as configured.
std::unique_ptr<spdlog::formatter> main_formatter(config::LogFormat format) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<LevelFlag>('k').add_flag<QuotedMessageFlag>('q');
    f->set_pattern(format == config::LogFormat::json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%k","msg":%q})"
                                                     : "%Y-%m-%dT%H:%M:%S.%e%z %k %v");
    return f;
}

}  // namespace

namespace {

std::shared_ptr<Context> process_context;          // set once by setup(), before any other thread logs
thread_local std::shared_ptr<Context> this_thread_context;

}  // namespace

void configure(Context& c, const config::LogConfig& cfg) {
    if (c.main) {
        c.main->set_formatter(main_formatter(cfg.format));
        c.main->set_level(spdlog::level::from_str(cfg.level));
    }
    if (c.access)
        c.access->set_pattern(cfg.format == config::LogFormat::json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e%z access %v");
    c.access_json = cfg.format == config::LogFormat::json;
    c.access_enabled = cfg.access_log && cfg.level != "off" && (c.access || c.on_access);
}

void setup(const config::LogConfig& cfg) {
    // Separate sinks so each logger keeps its own pattern; stdout sinks share one console mutex.
    auto c = std::make_shared<Context>();
    c->main = std::make_shared<spdlog::logger>("modelhost", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    c->main->flush_on(spdlog::level::trace);
    c->access = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    c->access->set_level(spdlog::level::info);
    configure(*c, cfg);
    spdlog::set_default_logger(c->main);
    // Access lines are buffered and flushed every second (and at exit): a flush per request costs a syscall.
    spdlog::drop("access");
    spdlog::register_logger(c->access);
    spdlog::flush_every(std::chrono::seconds(1));
    process_context = std::move(c);
}

void reconfigure(const config::LogConfig& cfg) {
    if (const auto& c = current()) configure(*c, cfg);
}

const std::shared_ptr<Context>& current() { return this_thread_context ? this_thread_context : process_context; }

Use::Use(std::shared_ptr<Context> context) : previous_(std::exchange(this_thread_context, std::move(context))) {}

Use::~Use() { this_thread_context = std::move(previous_); }

std::string access_line(const AccessRecord& rec, bool json) {
    const auto& f = rec;
    fmt::memory_buffer line;
    auto out = std::back_inserter(line);
    if (json) {
        fmt::format_to(out, R"({{"type":"access","remote":"{}","method":)", rec.remote);
        append_quoted(line, f.method);
        fmt::format_to(out, R"(,"target":)");
        append_quoted(line, f.target);
        fmt::format_to(out, R"(,"protocol":"{}","status":{},"bytes":{},"ms":{:.3f},"origin":)", rec.protocol, rec.status,
                       rec.bytes, rec.ms);
        append_quoted(line, f.origin);
        fmt::format_to(out, R"(,"note":)");
        append_quoted(line, f.note);
        line.push_back('}');
    } else {
        fmt::format_to(out, "{} ", rec.remote);
        std::string request(f.method);
        request.append(" ").append(f.target).append(" ").append(rec.protocol);
        append_quoted(line, request);
        fmt::format_to(out, " {} {} {:.3f}ms origin=", rec.status, rec.bytes, rec.ms);
        if (f.origin.empty()) line.push_back('-');
        else append_quoted(line, f.origin);
        if (!f.note.empty()) {
            fmt::format_to(out, " note=");
            append_quoted(line, f.note);
        }
    }
    return fmt::to_string(line);
}

void access(const AccessRecord& rec) {
    const auto& c = current();
    if (!c || !c->access_enabled.load(std::memory_order_relaxed)) return;
    if (c->on_access) return c->on_access(rec);
    if (c->access) c->access->info(access_line(rec, c->access_json.load(std::memory_order_relaxed)));
}

void flush() {
    const auto& c = current();
    if (!c) return;
    if (c->main) c->main->flush();
    if (c->access) c->access->flush();
}

}  // namespace modelhost::log
