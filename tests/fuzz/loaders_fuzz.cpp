// A model's name and files as hostile bytes -> models/loaders.cpp: the loader facts for every format are JSON that
// dumps, and every URL they hold is path-absolute and percent-encoded (no space, quote or control byte).
#include "fuzz_check.hpp"
#include "models/loaders.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    modelhost::models::ModelEntry m;
    m.name = text.substr(0, text.size() / 2);
    m.external = {text.substr(text.size() / 2)};
    m.dtypes = {"q8"};
    const std::string enc = modelhost::models::percent_encoded(text);
    for (unsigned char c : enc) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '"' && c != '\'');
    std::map<std::string, std::string> runtimes{{"onnxruntime-web", "1.0.0"}};
    for (const char* f : modelhost::models::format::all) {
        m.format = f;
        const auto j = modelhost::models::loader_json(m, "/" + enc, "/", runtimes);
        (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (j.contains("external_data"))
            for (const auto& e : j["external_data"]) FUZZ_CHECK(e["url"].get<std::string>().front() == '/');
    }
    (void)modelhost::models::mediapipe_task_class(text);
    return 0;
}
