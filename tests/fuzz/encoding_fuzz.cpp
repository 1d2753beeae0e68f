// Accept-Encoding: the coding chosen is offered by the client with q > 0 (identity unless refused).
#include "fuzz_check.hpp"
#include "http/encoding.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::string_view header(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto accept = modelhost::http::parse_accept_encoding(header);
    bool have_br = data[0] & 1, have_gzip = data[0] & 2;
    auto c = modelhost::http::choose_coding(accept, have_br, have_gzip);
    using modelhost::http::Coding;
    if (c == Coding::br) FUZZ_CHECK(have_br && (accept.br > 0 || (accept.br < 0 && accept.any > 0)));
    if (c == Coding::gzip) FUZZ_CHECK(have_gzip && (accept.gzip > 0 || (accept.gzip < 0 && accept.any > 0)));
    return 0;
}
