// The wire form of a Reply's head.
#include "http/reply.hpp"

#include "http/message.hpp"
#include "http/mime.hpp"

#include <charconv>

namespace modelhost::http {

namespace {

std::string_view representation_lines(const Reply& res) {
    if (!res.representation) return {};
    std::string_view all = res.representation->lines;
    return res.validators_only ? all.substr(0, res.representation->validators_end) : all;
}

}  // namespace

void serialize_head(const Reply& res, std::string& out) {
    out.clear();
    out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char code[8];
    auto [end, ec] = std::to_chars(code, code + sizeof code, res.result_int());
    out.append(code, end);
    out += ' ';
    auto reason = res.reason();
    out.append(reason.data(), reason.size());
    out += "\r\n";
    for (const auto& f : res)
        append_header_line(out, {f.name_string().data(), f.name_string().size()}, {f.value().data(), f.value().size()});
    if (res.content_length_header) {
        char digits[24];
        auto [last, error] = std::to_chars(digits, digits + sizeof digits, *res.content_length_header);
        append_header_line(out, "Content-Length", {digits, static_cast<std::size_t>(last - digits)});
    }
    if (res.date[0] != '\0') append_header_line(out, "Date", {res.date.data(), res.date.size()});
    out += res.route_lines;
    out += res.cors_lines;
    out += representation_lines(res);
    out += "\r\n";
}

Reply error_reply(bhttp::status status, unsigned version) {
    Reply res{status, version};
    res.set(bhttp::field::content_type, plain_text_type);
    res.body().text = std::to_string(static_cast<unsigned>(status)) + " " + std::string(bhttp::obsolete_reason(status)) + "\n";
    return res;
}

}  // namespace modelhost::http
