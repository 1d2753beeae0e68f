// How a request's message body is framed (RFC 9112 §6), and whether it names its host (RFC 9112 §3.2): decided from
// the parsed header alone, before any body byte is read, so every request is framed exactly one way or refused.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

#include <string>

namespace modelhost::http {

// The verdict on a request header: ok, or the status that refuses it (the connection then closes) and why.
struct FramingVerdict {
    boost::beast::http::status status = boost::beast::http::status::ok;  // ok, 400 or 501
    std::string reason;
    bool ok() const { return status == boost::beast::http::status::ok; }
};

// `version` is 10 or 11. Transfer-Encoding must end in exactly one chunked (§6.1; anything else cannot be framed:
// 400), name no other coding (none is implemented: 501), not come with Content-Length (§6.3: 400) and not appear
// in HTTP/1.0 (§6.1: 400). HTTP/1.1 needs exactly one Host with a valid value; HTTP/1.0 at most one (§3.2).
FramingVerdict check_framing(const boost::beast::http::fields& header, unsigned version);

// True for a valid Host field value: empty, or uri-host [ ":" port ] (RFC 9110 §7.2), no userinfo, path or whitespace.
bool valid_host(std::string_view value);

// True when a line of `head` (request line and fields, as received) starts with SP or HTAB: a field folded
// over lines (obs-fold), which a server must refuse or unfold (RFC 9112 §5.2); modelhost refuses it.
bool has_obs_fold(std::string_view head);

}  // namespace modelhost::http
