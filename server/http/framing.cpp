// Request framing and Host checks (RFC 9112 §3.2, §6.1, §6.3).
#include "http/framing.hpp"

#include "base/text.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>

namespace modelhost::http {

namespace bhttp = boost::beast::http;

namespace {

FramingVerdict refuse(bhttp::status s, std::string why) { return FramingVerdict{s, std::move(why)}; }

// A port as Host may carry it: digits only, at most 65535; empty is allowed ("host:", RFC 3986 §3.2.3).
bool valid_port(std::string_view port) {
    if (port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

// Every Transfer-Encoding line, as one comma-separated list of codings (§5.3 of RFC 9110: lines combine).
FramingVerdict check_transfer_coding(const bhttp::fields& header) {
    std::size_t chunked = 0, codings = 0;
    bool chunked_last = false;
    std::string other;
    for (auto it = header.find(bhttp::field::transfer_encoding); it != header.end() && it->name() == bhttp::field::transfer_encoding; ++it) {
        for_each_list_item({it->value().data(), it->value().size()}, [&](std::string_view item) {
            ++codings;
            chunked_last = equals_lower(item.substr(0, item.find(';')), "chunked");
            if (chunked_last) ++chunked;
            else if (other.empty()) other.assign(item);
            return true;
        });
    }
    if (codings == 0) return refuse(bhttp::status::bad_request, "empty Transfer-Encoding");
    if (!chunked_last) return refuse(bhttp::status::bad_request, "Transfer-Encoding does not end in chunked: the body length cannot be determined");
    if (chunked > 1) return refuse(bhttp::status::bad_request, "Transfer-Encoding applies chunked more than once");
    if (!other.empty()) return refuse(bhttp::status::not_implemented, "transfer coding \"" + other + "\" is not implemented");
    return {};
}

}  // namespace

bool valid_host(std::string_view value) {
    if (value.empty()) return true;  // allowed when the target has no authority (RFC 9110 §7.2)
    // The common case without the full grammar, in one pass: a name or IPv4 address, and an optional port of at most
    // 5 digits (neither can hold a character the check below refuses).
    auto colon = value.find(':');
    auto name = value.substr(0, colon);
    bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    if (plain) return colon == std::string_view::npos || valid_port(value.substr(colon + 1));
    if (value.find_first_of(" \t/?#@\\") != std::string_view::npos) return false;
    auto authority = boost::urls::parse_authority(value);  // IP literals and the rest of the grammar
    return authority && valid_port(authority->port());
}

bool has_obs_fold(std::string_view head) {
    for (auto lf = head.find('\n'); lf != std::string_view::npos && lf + 1 < head.size(); lf = head.find('\n', lf + 1))
        if (head[lf + 1] == ' ' || head[lf + 1] == '\t') return true;
    return false;
}

FramingVerdict check_framing(const bhttp::fields& header, unsigned version) {
    // One pass over the fields (their names were recognised as they were parsed) instead of a lookup per name.
    std::size_t te = 0, content_lengths = 0, hosts = 0;
    std::string_view host;
    for (const auto& f : header) {
        switch (f.name()) {
            case bhttp::field::transfer_encoding: ++te; break;
            case bhttp::field::content_length: ++content_lengths; break;
            case bhttp::field::host:
                if (++hosts == 1) host = {f.value().data(), f.value().size()};
                break;
            default: break;
        }
    }
    if (te > 0 && version < 11) return refuse(bhttp::status::bad_request, "Transfer-Encoding in an HTTP/1.0 request");
    if (te > 0 && content_lengths > 0) return refuse(bhttp::status::bad_request, "both Transfer-Encoding and Content-Length");
    if (te > 0)
        if (auto v = check_transfer_coding(header); !v.ok()) return v;
    if (hosts > 1) return refuse(bhttp::status::bad_request, "more than one Host");
    if (hosts == 0 && version >= 11) return refuse(bhttp::status::bad_request, "HTTP/1.1 request without Host");
    if (hosts == 1 && !valid_host(host)) return refuse(bhttp::status::bad_request, "invalid Host");
    return {};
}

}  // namespace modelhost::http
