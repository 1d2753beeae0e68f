// RFC 9110 §13 conditional requests: pure functions over a representation's validators.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace modelhost::http {

// The validators of the selected representation; either may be unknown (a file a mirror is still fetching has no
// content ETag yet, nor a Last-Modified when its upstream sent none). A condition on an unknown validator is the one
// RFC 9110 §13.1 gives for "no such validator": If-Match and If-None-Match still see that a representation exists
// ("*"), date conditions and a date If-Range are ignored.
struct Validators {
    std::string_view etag;                     // strong, quoted: "\"1a-2b-3c\""; empty when unknown
    std::optional<std::time_t> last_modified;  // seconds
};

enum class Precondition { proceed, not_modified, failed };

// Evaluates If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since in the order of RFC 9110 §13.2.2.
Precondition evaluate_preconditions(const boost::beast::http::fields& req, boost::beast::http::verb method,
                                    const Validators& v, std::time_t now);

// RFC 9110 §13.1.5: a Range applies only when If-Range (strong ETag, or exactly the Last-Modified date) matches.
bool if_range_allows(std::string_view if_range, const Validators& v);

}  // namespace modelhost::http
