// Accept-Encoding with q-values; a missing header means identity only (what browsers never send, tools often do).
#include "http/encoding.hpp"

#include "base/text.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

namespace modelhost::http {

namespace {

// "q=0.5" -> 0.5; anything malformed counts as q=1 would be too generous, so it counts as 0.
double parse_q(std::string_view params) {
    while (!params.empty()) {
        auto semi = params.find(';');
        std::string_view p = trim_ows(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            std::string v(p.substr(2));
            char* end = nullptr;
            double q = std::strtod(v.c_str(), &end);
            if (end != v.c_str() + v.size() || q < 0 || q > 1) return 0;
            return q;
        }
    }
    return 1;
}

}  // namespace

AcceptEncoding parse_accept_encoding(std::string_view header) {
    AcceptEncoding a;
    for_each_list_item(header, [&a](std::string_view item) {
        auto semi = item.find(';');
        std::string_view name = trim_ows(item.substr(0, semi));
        double q = semi == std::string_view::npos ? 1 : parse_q(item.substr(semi + 1));
        if (equals_lower(name, "br")) a.br = q;
        else if (equals_lower(name, "gzip") || equals_lower(name, "x-gzip")) a.gzip = q;
        else if (equals_lower(name, "identity")) a.identity = q;
        else if (name == "*") a.any = q;
        return true;
    });
    return a;
}

Coding choose_coding(const AcceptEncoding& a, bool have_br, bool have_gzip) {
    auto q_of = [&a](double q) { return q >= 0 ? q : (a.any >= 0 ? a.any : 0); };
    double br = have_br ? q_of(a.br) : 0;
    double gz = have_gzip ? q_of(a.gzip) : 0;
    // Identity competes only when the client ranked it explicitly; otherwise any acceptable coding is preferred.
    double id = a.identity >= 0 ? a.identity : 0;
    if (br > 0 && br >= gz && br >= id) return Coding::br;
    if (gz > 0 && gz >= id) return Coding::gzip;
    return Coding::identity;  // also when identity;q=0 leaves nothing else: better bytes than a 406
}

std::string_view coding_token(Coding c) {
    switch (c) {
        case Coding::br: return "br";
        case Coding::gzip: return "gzip";
        case Coding::identity: return "";
    }
    return "";
}

bool compressible(std::string_view type) {
    return type.starts_with("application/json") || type.starts_with("text/") || type.starts_with("application/wasm") ||
           type.starts_with("image/svg+xml");
}

}  // namespace modelhost::http
