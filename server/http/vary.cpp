// RFC 9110 §12.5.5: Vary is a comma-separated list of field names; one header keeps caches and tests simple.
#include "http/vary.hpp"

#include "base/text.hpp"

#include <boost/beast/core/string.hpp>

namespace modelhost::http {

namespace bhttp = boost::beast::http;

void append_vary(bhttp::fields& fields, std::string_view token) {
    auto current = fields[bhttp::field::vary];
    std::string_view list(current.data(), current.size());
    bool listed = !for_each_list_item(list, [&](std::string_view item) { return !(item == "*" || boost::beast::iequals(item, token)); });
    if (listed) return;
    if (list.empty()) fields.set(bhttp::field::vary, token);
    else fields.set(bhttp::field::vary, std::string(list) + ", " + std::string(token));
}

}  // namespace modelhost::http
