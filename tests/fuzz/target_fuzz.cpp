// Request targets: whatever the bytes, an accepted path has only plain segments and never leaves the root.
#include "fuzz_check.hpp"
#include "http/target.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    auto t = modelhost::http::parse_target(raw);
    if (t.verdict != modelhost::http::Target::Verdict::ok) return 0;
    FUZZ_CHECK(t.path.starts_with('/'));
    for (const auto& seg : t.segments()) {
        FUZZ_CHECK(!seg.empty() && seg != "." && seg != "..");
        for (char c : seg) FUZZ_CHECK(c != '/' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    }
    return 0;
}
