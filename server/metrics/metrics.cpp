// Per-thread shards registered once per thread and never freed (a thread's counts outlive it), summed per scrape.
#include "metrics/metrics.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <dirent.h>
#include <memory>
#include <mutex>
#include <sys/resource.h>
#include <unistd.h>

namespace modelhost::metrics {

namespace {

constexpr std::array<double, 14> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr std::array<const char*, 4> methods{"GET", "HEAD", "OPTIONS", "other"};
constexpr std::array<const char*, 5> classes{"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::size_t routes = max_routes + 1;

using Cell = std::atomic<std::uint64_t>;

struct Shard {
    std::array<Cell, methods.size() * classes.size() * routes> responses{};
    std::array<Cell, routes> bytes{};
    std::array<Cell, buckets.size() + 1> duration{};  // per bucket (not cumulative), the last for +Inf
    Cell duration_micros{};
    Cell not_modified{}, partial{};
    std::array<Cell, static_cast<std::size_t>(Event::count_)> events{};
};

std::mutex registry_mutex;
std::vector<std::unique_ptr<Shard>>& registry() {
    static std::vector<std::unique_ptr<Shard>> shards;
    return shards;
}
std::atomic<std::int64_t> active{0};
std::atomic<std::uint64_t> generation_now{1};

Shard& mine() {
    thread_local Shard* shard = [] {
        std::lock_guard lock(registry_mutex);
        registry().push_back(std::make_unique<Shard>());
        return registry().back().get();
    }();
    return *shard;
}

void add(Cell& c, std::uint64_t n = 1) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }

template <std::size_t N>
std::array<std::uint64_t, N> sum(std::array<Cell, N> Shard::*field) {
    std::array<std::uint64_t, N> out{};
    std::lock_guard lock(registry_mutex);
    for (const auto& s : registry())
        for (std::size_t i = 0; i < N; ++i) out[i] += ((*s).*field)[i].load(std::memory_order_relaxed);
    return out;
}

std::uint64_t sum(Cell Shard::*field) {
    std::uint64_t out = 0;
    std::lock_guard lock(registry_mutex);
    for (const auto& s : registry()) out += ((*s).*field).load(std::memory_order_relaxed);
    return out;
}

// A label value in the exposition's escaping (backslash, quote, newline).
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void line(std::string& out, const std::string& name_and_labels, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, value == std::floor(value) && std::fabs(value) < 1e15 ? "%.0f" : "%.6f", value);
    out.append(name_and_labels).append(" ").append(buf).append("\n");
}

void responses(std::string& out, const ScrapeFacts& f) {
    auto counts = sum(&Shard::responses);
    header(out, "modelhost_responses_total", "counter", "Responses sent, by request method, status class and route.");
    for (std::size_t m = 0; m < methods.size(); ++m)
        for (std::size_t c = 0; c < classes.size(); ++c)
            for (std::size_t r = 0; r < routes && r < f.route_labels.size(); ++r) {
                auto n = counts[(m * classes.size() + c) * routes + r];
                if (n == 0) continue;
                line(out, std::string("modelhost_responses_total{method=\"") + methods[m] + "\",code=\"" + classes[c] +
                              "\",route=\"" + label(f.route_labels[r]) + "\"}", static_cast<double>(n));
            }
    auto bytes = sum(&Shard::bytes);
    header(out, "modelhost_response_body_bytes_total", "counter", "Body bytes sent, by route.");
    for (std::size_t r = 0; r < routes && r < f.route_labels.size(); ++r)
        line(out, "modelhost_response_body_bytes_total{route=\"" + label(f.route_labels[r]) + "\"}", static_cast<double>(bytes[r]));
    header(out, "modelhost_not_modified_total", "counter", "304 Not Modified responses (revalidations).");
    line(out, "modelhost_not_modified_total", static_cast<double>(sum(&Shard::not_modified)));
    header(out, "modelhost_partial_content_total", "counter", "206 Partial Content responses (ranges).");
    line(out, "modelhost_partial_content_total", static_cast<double>(sum(&Shard::partial)));
}

void histogram(std::string& out) {
    auto per_bucket = sum(&Shard::duration);
    header(out, "modelhost_response_duration_seconds", "histogram",
           "From the first byte of a request to the last byte of its response.");
    std::uint64_t cumulative = 0;
    char le[32];
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        cumulative += per_bucket[i];
        std::snprintf(le, sizeof le, "%g", buckets[i]);
        line(out, std::string("modelhost_response_duration_seconds_bucket{le=\"") + le + "\"}", static_cast<double>(cumulative));
    }
    cumulative += per_bucket[buckets.size()];
    line(out, "modelhost_response_duration_seconds_bucket{le=\"+Inf\"}", static_cast<double>(cumulative));
    line(out, "modelhost_response_duration_seconds_sum", static_cast<double>(sum(&Shard::duration_micros)) / 1e6);
    line(out, "modelhost_response_duration_seconds_count", static_cast<double>(cumulative));
}

void events(std::string& out) {
    auto e = sum(&Shard::events);
    auto at = [&](Event ev) { return static_cast<double>(e[static_cast<std::size_t>(ev)]); };
    header(out, "modelhost_connections_refused_total", "counter", "Connections over limits.max_connections (503 or dropped).");
    line(out, "modelhost_connections_refused_total", at(Event::connection_refused));
    header(out, "modelhost_connections_active", "gauge", "Open client connections.");
    line(out, "modelhost_connections_active", static_cast<double>(active.load(std::memory_order_relaxed)));
    header(out, "modelhost_cors_preflights_total", "counter", "CORS preflight requests answered.");
    line(out, "modelhost_cors_preflights_total", at(Event::preflight));
    header(out, "modelhost_cors_refusals_total", "counter", "Requests whose CORS check failed, by what was refused.");
    line(out, "modelhost_cors_refusals_total{refused=\"origin\"}", at(Event::cors_refused_origin));
    line(out, "modelhost_cors_refusals_total{refused=\"method\"}", at(Event::cors_refused_method));
    line(out, "modelhost_cors_refusals_total{refused=\"header\"}", at(Event::cors_refused_header));
    header(out, "modelhost_reloads_total", "counter", "Configuration reloads, by result.");
    line(out, "modelhost_reloads_total{result=\"success\"}", at(Event::reload_ok));
    line(out, "modelhost_reloads_total{result=\"failure\"}", at(Event::reload_failed));
    header(out, "modelhost_catalog_scans_total", "counter",
           "Scans of the root by the model catalog: a new catalog's first (every file hashed), or a later refresh.");
    line(out, "modelhost_catalog_scans_total{scan=\"first\"}", at(Event::catalog_first_scan));
    line(out, "modelhost_catalog_scans_total{scan=\"refresh\"}", at(Event::catalog_refresh_scan));
    header(out, "modelhost_cache_lookups_total", "counter", "Cache lookups on the request path, by cache and result.");
    line(out, "modelhost_cache_lookups_total{cache=\"file\",result=\"remembered\"}", at(Event::file_remembered));
    line(out, "modelhost_cache_lookups_total{cache=\"file\",result=\"checked\"}", at(Event::file_checked));
    line(out, "modelhost_cache_lookups_total{cache=\"file\",result=\"opened\"}", at(Event::file_opened));
    line(out, "modelhost_cache_lookups_total{cache=\"headers\",result=\"hit\"}", at(Event::head_hit));
    line(out, "modelhost_cache_lookups_total{cache=\"headers\",result=\"miss\"}", at(Event::head_miss));
    line(out, "modelhost_cache_lookups_total{cache=\"gzip\",result=\"hit\"}", at(Event::gzip_hit));
    line(out, "modelhost_cache_lookups_total{cache=\"gzip\",result=\"miss\"}", at(Event::gzip_miss));
    header(out, "modelhost_config_generation", "gauge", "The configuration in force: 1 at start, +1 per successful reload.");
    line(out, "modelhost_config_generation", static_cast<double>(generation_now.load(std::memory_order_relaxed)));
}

std::size_t open_descriptors() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
        n = n >= 3 ? n - 3 : 0;  // ".", ".." and the directory's own descriptor
    }
    return n;
}

void process(std::string& out) {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    line(out, "process_resident_memory_bytes", static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)));
    header(out, "process_open_fds", "gauge", "Open file descriptors.");
    line(out, "process_open_fds", static_cast<double>(open_descriptors()));
    header(out, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.");
    line(out, "process_cpu_seconds_total", cpu);
}

}  // namespace

void count(Event e) { add(mine().events[static_cast<std::size_t>(e)]); }

void count_response(unsigned method, unsigned status, std::size_t route, std::uint64_t bytes, double seconds) {
    Shard& s = mine();
    const std::size_t m = method < methods.size() ? method : methods.size() - 1;
    const std::size_t c = status >= 100 && status < 600 ? status / 100 - 1 : classes.size() - 1;
    const std::size_t r = route < routes ? route : routes - 1;
    add(s.responses[(m * classes.size() + c) * routes + r]);
    add(s.bytes[r], bytes);
    std::size_t b = 0;
    while (b < buckets.size() && seconds > buckets[b]) ++b;
    add(s.duration[b]);
    add(s.duration_micros, static_cast<std::uint64_t>(seconds * 1e6));
    if (status == 304) add(s.not_modified);
    if (status == 206) add(s.partial);
}

void set_active_connections(std::int64_t delta) { active.fetch_add(delta, std::memory_order_relaxed); }

void set_generation(std::uint64_t generation) { generation_now.store(generation, std::memory_order_relaxed); }

std::string exposition(const ScrapeFacts& f) {
    std::string out;
    out.reserve(8192);
    header(out, "modelhost_build_info", "gauge", "Always 1; the version as a label.");
    line(out, "modelhost_build_info{version=\"" + label(f.version) + "\"}", 1);
    responses(out, f);
    histogram(out);
    events(out);
    header(out, "modelhost_models", "gauge", "Models under the root, by format and state.");
    for (const auto& [format, n] : f.models) {
        line(out, "modelhost_models{format=\"" + label(format) + "\",state=\"ok\"}", static_cast<double>(n.first));
        line(out, "modelhost_models{format=\"" + label(format) + "\",state=\"broken\"}", static_cast<double>(n.second));
    }
    process(out);
    return out;
}

}  // namespace modelhost::metrics
