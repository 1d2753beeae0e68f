#include "net/tls.hpp"

#include "config/config.hpp"
#include "net/server.hpp"

#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <sys/stat.h>

namespace modelhost::net {

namespace {

// Mozilla's intermediate TLS 1.2 suites without DHE: forward secret key exchange, authenticated encryption.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3 suites in the server's order: AES-128-GCM first (Mozilla's order; on AES hardware it is the cheapest for
// both ends, and a client's own preference for AES-256, OpenSSL's default, would otherwise win).
constexpr const char* tls13_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* groups = "X25519:prime256v1:secp384r1";

// ALPN wire lists (length-prefixed names), in the server's order of preference.
constexpr unsigned char with_h2[] = "\x02h2\x08http/1.1";
constexpr unsigned char http1_only[] = "\x08http/1.1";

struct AlpnList {
    const unsigned char* names;
    unsigned size;
};
constexpr AlpnList offer_h2{with_h2, sizeof with_h2 - 1}, offer_http1{http1_only, sizeof http1_only - 1};

// Picks the server's first protocol (from the AlpnList `arg`) the client also offers; a client offering none of them
// (an h2-only client on a server with h2 off) continues without ALPN and gets HTTP/1.1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
    const auto& ours = *static_cast<const AlpnList*>(arg);
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, ours.names, ours.size, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config::TlsConfig& t, bool http2) {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(native, tls12_ciphers);
    SSL_CTX_set_ciphersuites(native, tls13_suites);
    SSL_CTX_set1_groups_list(native, groups);
    // The server's order (AES-GCM, then ChaCha20), except that a client preferring ChaCha20 (no AES hardware) gets it.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_set_alpn_select_cb(native, select_alpn, const_cast<AlpnList*>(http2 ? &offer_h2 : &offer_http1));
    // OpenSSL's own record buffers (about 34 KB a connection) are freed while empty: an idle connection holds none.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    boost::system::error_code ec;
    if (!t.cert_pem.empty()) {
        ctx->use_certificate_chain(boost::asio::buffer(t.cert_pem), ec);
        if (ec) throw StartupError("tls.cert_pem: cannot load the certificate chain: " + ec.message());
        ctx->use_private_key(boost::asio::buffer(t.key_pem), ssl::context::pem, ec);
        if (ec) throw StartupError("tls.key_pem: cannot load the private key: " + ec.message());
        return ctx;
    }
    ctx->use_certificate_chain_file(t.cert_file, ec);
    if (ec) throw StartupError("tls.cert_file: cannot load \"" + t.cert_file + "\": " + ec.message());
    ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
    if (ec) throw StartupError("tls.key_file: cannot load \"" + t.key_file + "\": " + ec.message());
    return ctx;
}

std::string tls_files_stamp(const config::TlsConfig& t) {
    if (!t.cert_pem.empty()) return "pem";  // text given in memory: nothing on disk to follow
    std::string out;
    for (const auto& path : {t.cert_file, t.key_file}) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return "missing";
        out += fmt::format("{}:{}:{}:{}.{};", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
    return out;
}

std::string_view alpn_protocol(const void* native_ssl) {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(static_cast<const SSL*>(native_ssl), &data, &len);
    return data ? std::string_view(reinterpret_cast<const char*>(data), len) : std::string_view{};
}

}  // namespace modelhost::net
