// Range: a single range always lies inside the representation; the first two bytes pick the representation size.
#include "fuzz_check.hpp"
#include "http/range.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint64_t sizes[] = {0, 1, 2, 100, 1u << 20, 1ull << 40, UINT64_MAX};
    std::uint64_t rep = sizes[data[0] % 7] + (data[1] % 3);
    std::string_view header(reinterpret_cast<const char*>(data) + 2, size - 2);
    auto r = modelhost::http::parse_range(header, rep);
    using Kind = modelhost::http::RangeRequest::Kind;
    if (r.kind == Kind::single) {
        FUZZ_CHECK(r.length >= 1);
        FUZZ_CHECK(r.first < rep);
        FUZZ_CHECK(r.length <= rep - r.first);
    }
    if (rep == 0) FUZZ_CHECK(r.kind != Kind::single);
    return 0;
}
