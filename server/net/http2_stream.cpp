#include "net/http2_stream.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <unistd.h>

namespace modelhost::net {

// A pre-built block of "Name: value\r\n" lines as HTTP/2 fields, parsed once: the names lower-cased, the values
// as offsets into the block (the reply that holds the block keeps it alive while the stream does).
struct LoweredBlock {
    const char* at = nullptr;  // where the block was: with `source`, tells a reused address from the same block
    std::string source;
    std::string names;  // lower-cased names, back to back
    struct Field {
        std::uint32_t name_at, name_size, value_at, value_size;
    };
    std::vector<Field> fields;
};

namespace {

// RFC 9113 §8.2.2: fields that only mean something to one HTTP/1.1 connection are never sent over HTTP/2.
bool connection_specific(std::string_view lower_name) {
    return lower_name == "connection" || lower_name == "keep-alive" || lower_name == "transfer-encoding" ||
           lower_name == "upgrade" || lower_name == "proxy-connection";
}

nghttp2_nv field(std::string_view name, std::string_view value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

std::shared_ptr<const LoweredBlock> lower_block(std::string_view block) {
    auto out = std::make_shared<LoweredBlock>();
    out->at = block.data();
    out->source = block;
    out->names.reserve(block.size());
    for (std::size_t at = 0; at < block.size();) {
        const std::size_t eol = std::min(block.find("\r\n", at), block.size());
        const std::string_view line = block.substr(at, eol - at);
        const std::size_t start = at;
        at = eol + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::size_t value = colon + 1;
        while (value < line.size() && line[value] == ' ') ++value;
        const std::size_t name_at = out->names.size();
        for (char c : line.substr(0, colon)) out->names.push_back(ascii_lower(c));
        if (connection_specific(std::string_view(out->names).substr(name_at))) {
            out->names.resize(name_at);
            continue;
        }
        out->fields.push_back({static_cast<std::uint32_t>(name_at), static_cast<std::uint32_t>(colon),
                               static_cast<std::uint32_t>(start + value), static_cast<std::uint32_t>(line.size() - value)});
    }
    return out;
}

// The blocks this thread's answers used last (a route's, the CORS lines, a file version's): the same few blocks
// serve most answers, so each is lower-cased and split once, not per answer. Matched by address and content.
std::shared_ptr<const LoweredBlock> lowered(std::string_view block) {
    constexpr std::size_t slots = 16;
    thread_local std::array<std::shared_ptr<const LoweredBlock>, slots> recent;
    thread_local std::size_t next = 0;
    for (const auto& b : recent)
        if (b && b->at == block.data() && b->source == block) return b;
    auto made = lower_block(block);
    recent[next++ % slots] = made;
    return made;
}

}  // namespace

void Http2Stream::add_field(std::string_view name, std::string_view value, std::size_t max_header_bytes) {
    header_bytes_ += name.size() + value.size() + 32;
    if (header_bytes_ > max_header_bytes) header_overflow_ = true;
    if (header_overflow_ || in_trailers_) return;
    if (name == ":method") method_ = value;
    else if (name == ":path") path_ = value;
    else if (name == ":authority") authority_ = value;
    else if (!name.starts_with(':')) request_.insert(name, value);
}

const http::Request& Http2Stream::request() {
    request_.method_string(method_);
    request_.target(path_);
    request_.version(11);
    if (!authority_.empty()) request_.set(boost::beast::http::field::host, authority_);
    return request_;
}

bool Http2Stream::answer() {
    has_response_ = true;
    const auto& body = ex_.reply.body();
    const bool has_content = !body.omitted && body.declared_size() > 0;
    if (has_content && body.file && !body.blob) {
        fd_ = body.file->fd();
        offset_ = body.offset;
        left_ = body.length;
        growing_ = body.growing.get();
    } else if (has_content) {
        memory_ = body.in_memory();
    }
    return has_content;
}

std::size_t Http2Stream::next_frame(std::size_t room, bool& last) const {
    const std::uint64_t left = fd_ < 0 ? memory_.size() : left_;
    std::uint64_t ready = left;
    if (growing_) ready = growing_->available() - std::min(growing_->available(), offset_);
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>({room, left, ready, max_data_frame}));
    last = n == left;
    return n;
}

bool Http2Stream::copy_content(char* to, std::size_t n) {
    if (fd_ < 0) {
        std::memcpy(to, memory_.data(), n);
        memory_.remove_prefix(n);
    } else {
        for (std::size_t got = 0; got < n;) {
            ssize_t r = ::pread(fd_, to + got, n - got, static_cast<off_t>(offset_ + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {  // for the access line: the stream is reset after this
                const std::string at = std::to_string(offset_ + got);
                add_note(r < 0 ? std::string("read failed at byte ").append(at).append(": ").append(std::strerror(errno))
                               : std::string("the file ends at byte ").append(at).append(", before its promised length"));
                return false;
            }
            got += static_cast<std::size_t>(r);
        }
        offset_ += n;
        left_ -= n;
    }
    sent_ += n;
    return true;
}

void Http2Stream::add_note(std::string_view why) {
    std::string& note = ex_.log.note;
    if (!note.empty()) note += "; ";
    note += why;
}

void response_fields(const http::Reply& reply, FieldText& text, std::vector<nghttp2_nv>& out) {
    const auto blocks = http::line_blocks(reply);
    std::size_t room = 0;  // the reply's own names, lower-cased
    for (const auto& f : reply) room += f.name_string().size();
    if (text.names.size() < room) text.names.resize(room);
    char* at = text.names.data();
    auto add = [&](std::string_view name, std::string_view value) {
        char* lower = at;
        for (char c : name) *at++ = ascii_lower(c);
        const std::string_view lower_name(lower, name.size());
        if (connection_specific(lower_name)) at = lower;
        else out.push_back(field(lower_name, value));
    };

    out.clear();
    auto [status_end, status_ec] = std::to_chars(text.status.data(), text.status.data() + text.status.size(), reply.result_int());
    out.push_back(field(":status", {text.status.data(), static_cast<std::size_t>(status_end - text.status.data())}));
    for (const auto& f : reply) add({f.name_string().data(), f.name_string().size()}, {f.value().data(), f.value().size()});
    if (reply.content_length_header) {
        auto [end, ec] = std::to_chars(text.length.data(), text.length.data() + text.length.size(), *reply.content_length_header);
        out.push_back(field("content-length", {text.length.data(), static_cast<std::size_t>(end - text.length.data())}));
    }
    if (reply.date[0] != '\0') out.push_back(field("date", {reply.date.data(), reply.date.size()}));
    for (std::size_t i = 0; i < blocks.size(); ++i) {  // "Name: value\r\n" lines
        if (blocks[i].empty()) {
            text.blocks[i].reset();
            continue;
        }
        text.blocks[i] = lowered(blocks[i]);
        const LoweredBlock& b = *text.blocks[i];
        for (const auto& f : b.fields)
            out.push_back(field({b.names.data() + f.name_at, f.name_size}, blocks[i].substr(f.value_at, f.value_size)));
    }
}

char* WriteBatch::extend(std::size_t n) {
    if (size + n > capacity) {
        // A batch plus one frame fits without growing; a larger frame (large configured headers) grows it once.
        std::size_t next = std::max(size + n, 2 * capacity + 64 * 1024);
        auto bigger = std::make_unique_for_overwrite<char[]>(next);
        if (size) std::memcpy(bigger.get(), data.get(), size);
        data = std::move(bigger);
        capacity = next;
    }
    char* at = data.get() + size;
    size += n;
    return at;
}

}  // namespace modelhost::net
