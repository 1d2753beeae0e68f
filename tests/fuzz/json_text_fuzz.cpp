// JSON text -> models/json_text.cpp: any text gives an object or a message, never an exception; a bounded read
// refuses what is over its bound; a string member is never longer than asked.
#include "fuzz_check.hpp"
#include "models/json_text.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    nlohmann::json doc;
    const std::string error = modelhost::models::read_json_object(text, doc);
    FUZZ_CHECK(!error.empty() || doc.is_object());
    nlohmann::json bounded;
    FUZZ_CHECK(!modelhost::models::read_json_object(text, bounded, 16).empty() || size <= 16);
    if (error.empty()) FUZZ_CHECK(modelhost::models::string_member(doc, "model_type", 8).size() <= 8);
    return 0;
}
