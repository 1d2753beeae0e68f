// RFC 9110 §12.5.5: Vary is a comma-separated list of field names; one header keeps caches and tests simple.
#include "http/vary.hpp"

#include "http/text.hpp"

#include <boost/beast/core/string.hpp>

namespace modelhost::http {

namespace bhttp = boost::beast::http;

void append_vary(bhttp::fields& fields, std::string_view token) {
    auto current = fields[bhttp::field::vary];
    std::string_view list(current.data(), current.size());
    std::size_t pos = 0;
    while (pos < list.size()) {
        std::size_t comma = list.find(',', pos);
        std::string_view item = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        item = trim_ows(item);
        if (item == "*" || boost::beast::iequals(item, token)) return;
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    if (list.empty()) fields.set(bhttp::field::vary, token);
    else fields.set(bhttp::field::vary, std::string(list) + ", " + std::string(token));
}

}  // namespace modelhost::http
