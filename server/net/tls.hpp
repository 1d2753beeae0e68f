// The TLS listener's context: certificate and key, the protocol versions and cipher suites offered, and ALPN.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace modelhost::config {
struct TlsConfig;
}

namespace modelhost::net {

// A server context on Mozilla's "intermediate" profile: TLS 1.3, and TLS 1.2 with ECDHE and AEAD suites only (no
// CBC: RFC 9113 §9.2.2 forbids those under h2, and they are what LUCKY13 attacks). ALPN offers "h2" when `http2`
// is set, then "http/1.1". Throws StartupError naming tls.cert_file or tls.key_file when one does not load.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config::TlsConfig& t, bool http2);

// Device, inode, size and mtime of the certificate and key ("missing" when one is absent): a change on disk
// changes the stamp.
std::string tls_files_stamp(const config::TlsConfig& t);

// The protocol ALPN chose on an established connection ("" when the client offered none).
std::string_view alpn_protocol(const void* native_ssl);

}  // namespace modelhost::net
