// Content negotiation for Content-Encoding (RFC 9110 §12.5.3): which stored or generated coding to send.
#pragma once

#include <string_view>

namespace modelhost::http {

enum class Coding { identity, gzip, br };

// q-values of the codings modelhost can send; -1 when the header does not mention one (nor "*").
struct AcceptEncoding {
    double br = -1, gzip = -1, identity = -1, any = -1;
};

AcceptEncoding parse_accept_encoding(std::string_view header);

// The acceptable coding with the highest q among those available; ties prefer br, then gzip, then identity.
Coding choose_coding(const AcceptEncoding& accept, bool have_br, bool have_gzip);

std::string_view coding_token(Coding c);

// True when `c` would be chosen over identity were it available (worth looking for a sidecar).
inline bool accepts(const AcceptEncoding& a, Coding c) {
    return choose_coding(a, c == Coding::br, c == Coding::gzip) == c;
}  // "br", "gzip", ""

// Types worth compressing: JSON, JavaScript, text, wasm, SVG. Weight shards and images are not.
bool compressible(std::string_view content_type);

}  // namespace modelhost::http
