// The one helper that edits Vary: tokens are merged into a single header and never duplicated.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string_view>

namespace modelhost::http {

// Adds `token` to the response's Vary header unless it is already listed (case-insensitive) or Vary is "*".
void append_vary(boost::beast::http::fields& fields, std::string_view token);

}  // namespace modelhost::http
