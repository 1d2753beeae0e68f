// The response message every request path produces: headers plus an in-memory text or a span of an open file.
#pragma once

#include "fs/open_file.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace modelhost::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// A Beast body that streams a file span in fixed chunks (never the whole file in memory) or sends a short text.
struct ReplyBody {
    struct value_type {
        std::string text;
        std::shared_ptr<const std::string> blob;   // shared in-memory bytes (cached file or gzip): [offset, offset + length)
        std::shared_ptr<const fs::OpenFile> file;  // an open file: bytes [offset, offset + length)
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
        bool omitted = false;  // HEAD, 204, 304: headers describe a body that is not sent

        std::uint64_t declared_size() const { return file || blob ? length : text.size(); }
    };

    // The bytes that go on the wire.
    static std::uint64_t size(const value_type& v) { return v.omitted ? 0 : v.declared_size(); }

    class writer {
    public:
        using const_buffers_type = boost::asio::const_buffer;

        template <bool isRequest, class Fields>
        writer(const bhttp::header<isRequest, Fields>&, const value_type& body) : body_(body) {}

        void init(beast::error_code& ec) { ec = {}; }
        boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec);

    private:
        static constexpr std::size_t chunk_size = 64 * 1024;
        const value_type& body_;
        std::uint64_t sent_ = 0;
        std::unique_ptr<char[]> chunk_;
        std::size_t chunk_capacity_ = 0;
    };
};

using Reply = bhttp::response<ReplyBody>;

}  // namespace modelhost::http
