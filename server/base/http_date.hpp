// HTTP dates (RFC 9110 §5.6.7): the one place they are parsed and formatted.
#pragma once

#include <array>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace modelhost {

// IMF-fixdate, RFC 850 and asctime forms; nullopt when malformed.
std::optional<std::time_t> parse_http_date(std::string_view s);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string format_http_date(std::time_t t);
// RFC 3339 in UTC with milliseconds ("1994-11-06T08:49:37.000Z"), as the Hugging Face hub writes dates.
std::string format_rfc3339(std::time_t t);

// The IMF-fixdate for now (always 29 characters), formatted at most once per second per thread (the Date header).
const std::array<char, 29>& current_http_date();

}  // namespace modelhost
