// Origins and allow_origins entries: parsing never crashes, and "null" is matched only by an explicit "null" rule.
#include "fuzz_check.hpp"
#include "http/origin.hpp"

#include <cstdint>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view all(reinterpret_cast<const char*>(data), size);
    auto cut = all.find('\n');
    std::string_view entry = all.substr(0, cut), value = cut == std::string_view::npos ? all : all.substr(cut + 1);
    auto origin = modelhost::http::parse_origin(value);
    auto rule = modelhost::http::compile_origin_rule(entry);
    if (!origin || !std::holds_alternative<modelhost::http::OriginRule>(rule)) return 0;
    const auto& r = std::get<modelhost::http::OriginRule>(rule);
    bool match = modelhost::http::matches(r, *origin);
    using Kind = modelhost::http::OriginRule::Kind;
    if (origin->opaque && match) FUZZ_CHECK(r.kind == Kind::null || r.kind == Kind::any);
    if (r.kind == Kind::exact && match) FUZZ_CHECK(origin->scheme == r.origin.scheme && origin->port == r.origin.port);
    return 0;
}
