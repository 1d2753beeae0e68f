// Config JSON -> validated config -> compiled CORS policies: any document either loads or fails with a ConfigError naming a key; nothing
// else escapes, and a loaded config keeps its contract ("*" never with credentials).
#include "config/config.hpp"
#include "config/layers.hpp"
#include "fuzz_check.hpp"
#include "http/cors.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
    if (doc.is_discarded()) return 0;
    modelhost::config::Layered raw;
    raw.doc = std::move(doc);
    if (raw.doc.is_object() && raw.doc.contains("server") && raw.doc["server"].is_object())
        raw.doc["server"]["root"] = std::filesystem::temp_directory_path().string();  // a root that exists
    try {
        auto cfg = modelhost::config::validate(raw);
        modelhost::http::CorsPolicy top(cfg.cors);  // what serve compiles next (origin patterns)
        for (const auto& r : cfg.routes)
            if (r.cors) modelhost::http::CorsPolicy route(*r.cors);
        bool any = false;
        for (const auto& o : cfg.cors.allow_origins) any = any || o == "*";
        FUZZ_CHECK(!(any && cfg.cors.allow_credentials));
        for (const auto& r : cfg.routes) FUZZ_CHECK(r.path.starts_with('/'));
    } catch (const modelhost::config::ConfigError& e) {
        FUZZ_CHECK(std::string(e.what()).find(':') != std::string::npos);  // "key: what"
    }
    return 0;
}
