// RFC 9110 §14 byte ranges: parsing a Range header against a representation's length.
#pragma once

#include <cstdint>
#include <string_view>

namespace modelhost::http {

// What a Range header asks of a representation of `size` bytes.
struct RangeRequest {
    // none: absent or malformed (serve 200); single: 206; several: more than one range (served as 200, full);
    // unsatisfiable: 416 with Content-Range: bytes */size.
    enum class Kind { none, single, several, unsatisfiable };
    Kind kind = Kind::none;
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};

RangeRequest parse_range(std::string_view header, std::uint64_t size);

}  // namespace modelhost::http
