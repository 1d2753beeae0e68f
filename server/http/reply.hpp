// The response message every request path produces: Beast fields for what varies per request, header lines built
// ahead of time for what does not, and an in-memory text or a span of an open file.
#pragma once

#include "fs/growing_file.hpp"
#include "fs/open_file.hpp"

#include <boost/beast/http/message.hpp>

#include <array>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace modelhost::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// What a response's content is: a short text, shared in-memory bytes, or a span of an open file.
// Never read or written by Beast: the session sends it (write, or sendfile(2) for large plain-TCP spans).
struct ReplyBody {
    struct value_type {
        std::string text;
        fs::Bytes blob;  // bytes in memory (a cached or compiled-in file, a gzip, a made body): [offset, offset + length)
        std::shared_ptr<const fs::OpenFile> file;  // an open file: bytes [offset, offset + length)
        // Set when `file` is still being written (a mirror's transfer): send what is there, wait for the rest.
        std::shared_ptr<const fs::GrowingFile> growing;
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
        bool omitted = false;  // HEAD, 204, 304: headers describe a body that is not sent

        std::uint64_t declared_size() const { return file || blob ? length : text.size(); }
        // The content when it is in memory (text or blob), else empty.
        std::string_view in_memory() const {
            if (blob) return {blob.get() + offset, static_cast<std::size_t>(length)};
            return text;
        }
    };

    // The bytes that go on the wire.
    static std::uint64_t size(const value_type& v) { return v.omitted ? 0 : v.declared_size(); }
};

// The headers that describe one version of a file in one content-coding, serialised once and shared by every
// response that sends it: "ETag", "Last-Modified", "Cache-Control" lines (what a 304 repeats), then
// "Content-Type", "Accept-Ranges", "Content-Encoding" lines. Each line ends in CRLF. A file a mirror is still
// fetching may not know its validators yet: no ETag line while `etag` is empty, no Last-Modified without a date.
struct RepresentationHead {
    std::string etag;  // strong, quoted; empty when not known yet
    std::optional<std::time_t> last_modified;
    std::string lines;
    std::size_t validators_end = 0;  // lines[0, validators_end) are the validator and caching lines
};

using ReplyBase = bhttp::response<ReplyBody>;

// A response. Fields hold what is decided per request; Content-Length, Date, `route_lines`, `cors_lines` and
// `representation` (pre-built lines) are written after them, without a Beast field (an allocation) each. No name
// appears twice: a route's configured headers are left out of the representation lines when they are built, and
// finalise drops fields of those names (configuration refuses Content-Length and Access-Control-* names).
class Reply : public ReplyBase {
public:
    using ReplyBase::ReplyBase;

    std::string_view route_lines;  // the route's constant headers (Server, nosniff, configured); owned by the policy
    std::string_view cors_lines;   // the route's constant CORS headers, when the decision is its wildcard; ditto
    std::optional<std::uint64_t> content_length_header;  // set by finalise; not a Beast field
    std::shared_ptr<const RepresentationHead> representation;
    bool validators_only = false;    // a 304: only the representation's validator and caching lines
    std::array<char, 29> date{};     // IMF-fixdate, set by finalise
    std::shared_ptr<const void> keep;  // owns what `route_lines` points into (the policy it was made under)

};

// The status line, every header and the blank line, as sent (HTTP/1.1 framing as finalise decided it).
void serialize_head(const Reply& res, std::string& out);

// The reply's pre-built blocks of "Name: value\r\n" lines in the order they are sent, after its own fields,
// Content-Length and Date: the route's, the CORS ones, the representation's (for a 304 only its validator and caching
// lines). serialize_head and the HTTP/2 fields (net/http2_stream.cpp) both take them from here.
std::array<std::string_view, 3> line_blocks(const Reply& res);

// Appends one header line, "Name: value\r\n", to pre-built lines.
inline void append_header_line(std::string& lines, std::string_view name, std::string_view value) {
    lines.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace modelhost::http
