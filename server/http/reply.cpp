// The wire form of a Reply's head.
#include "http/reply.hpp"

#include "http/message.hpp"
#include "http/mime.hpp"

#include <charconv>
#include <cstring>

namespace modelhost::http {

namespace {

// Appends `piece` at `at` (the caller sized the string for every piece).
char* put(char* at, std::string_view piece) {
    if (piece.empty()) return at;  // (an empty view may hold no pointer at all)
    std::memcpy(at, piece.data(), piece.size());
    return at + piece.size();
}

char* put_line(char* at, std::string_view name, std::string_view value) {
    at = put(at, name);
    at = put(at, ": ");
    at = put(at, value);
    return put(at, "\r\n");
}

}  // namespace

std::array<std::string_view, 3> line_blocks(const Reply& res) {
    std::string_view representation;
    if (res.representation) {
        representation = res.representation->lines;
        if (res.validators_only) representation = representation.substr(0, res.representation->validators_end);
    }
    return {res.route_lines, res.cors_lines, representation};
}

// Sized once, then copied piece by piece (no growth checks per append).
void serialize_head(const Reply& res, std::string& out) {
    char code[4];
    auto [code_end, ec] = std::to_chars(code, code + sizeof code, res.result_int());
    const std::string_view status(code, static_cast<std::size_t>(code_end - code));
    const auto reason_text = res.reason();
    const std::string_view reason(reason_text.data(), reason_text.size());
    char digits[24];
    std::string_view length;
    if (res.content_length_header) {
        auto [last, error] = std::to_chars(digits, digits + sizeof digits, *res.content_length_header);
        length = {digits, static_cast<std::size_t>(last - digits)};
    }
    const std::string_view date = res.date[0] != '\0' ? std::string_view(res.date.data(), res.date.size()) : std::string_view();
    const auto blocks = line_blocks(res);

    std::size_t size = 9 + status.size() + 1 + reason.size() + 2;  // "HTTP/1.1 200 OK\r\n"
    for (const auto& f : res) size += f.name_string().size() + 2 + f.value().size() + 2;
    if (!length.empty()) size += 16 + length.size() + 2;  // "Content-Length: "
    if (!date.empty()) size += 6 + date.size() + 2;       // "Date: "
    for (std::string_view block : blocks) size += block.size();
    size += 2;  // the blank line

    out.resize(size);
    char* at = put(out.data(), res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    at = put(at, status);
    at = put(at, " ");
    at = put(at, reason);
    at = put(at, "\r\n");
    for (const auto& f : res)
        at = put_line(at, {f.name_string().data(), f.name_string().size()}, {f.value().data(), f.value().size()});
    if (!length.empty()) at = put_line(at, "Content-Length", length);
    if (!date.empty()) at = put_line(at, "Date", date);
    for (std::string_view block : blocks) at = put(at, block);
    put(at, "\r\n");
}

Reply error_reply(bhttp::status status, unsigned version) {
    Reply res{status, version};
    res.set(bhttp::field::content_type, plain_text_type);
    res.body().text = std::to_string(static_cast<unsigned>(status)) + " " + std::string(bhttp::obsolete_reason(status)) + "\n";
    return res;
}

}  // namespace modelhost::http
