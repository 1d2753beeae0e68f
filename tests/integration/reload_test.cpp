// Certificate rotation by reload, over real TLS: a new connection gets the new certificate, a connection made
// before the reload keeps working with the old one.
#include "catch.hpp"

#include "canned_server.hpp"
#include "process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <csignal>
#include <filesystem>
#include <thread>

using namespace modelhost::test;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

const std::string binary = MODELHOST_BINARY;

// One keep-alive HTTPS connection that trusts `ca_file` and remembers the server certificate's serial.
class TlsClient {
public:
    TlsClient(std::uint16_t port, const std::string& ca_file) : ctx_(asio::ssl::context::tls_client), stream_(ioc_, ctx_) {
        ctx_.load_verify_file(ca_file);
        stream_.set_verify_mode(asio::ssl::verify_peer);
        stream_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
        stream_.handshake(asio::ssl::stream_base::client);
        X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
        BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
        char* hex = BN_bn2hex(bn);
        serial_ = hex;
        OPENSSL_free(hex);
        BN_free(bn);
        X509_free(cert);
    }
    unsigned get(const std::string& target) {
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        bhttp::write(stream_, req);
        bhttp::response<bhttp::string_body> res;
        bhttp::read(stream_, buffer_, res);
        return res.result_int();
    }
    const std::string& serial() const { return serial_; }

private:
    asio::io_context ioc_;
    asio::ssl::context ctx_;
    asio::ssl::stream<asio::ip::tcp::socket> stream_;
    boost::beast::flat_buffer buffer_;
    std::string serial_;
};

// A new server certificate from the same CA, written over the configured files (as certbot renews in place).
void renew(const TestPki& pki, const std::string& serial) {
    auto [code, out] = run_command({"/bin/sh", "-c",
        "cd '" + pki.dir.path().string() + "' && openssl req -newkey rsa:2048 -nodes -keyout new.key -out new.csr "
        "-subj /CN=127.0.0.1 && openssl x509 -req -in new.csr -CA ca.pem -CAkey ca.key -set_serial 0x" + serial +
        " -out new.pem -days 1 -extfile san.ext && mv new.key server.key && mv new.pem server.pem"});
    REQUIRE(code == 0);
}

// modelhost serving HTTPS with the test PKI's server certificate, its config naming the files renew() replaces.
struct TlsServer {
    TestPki pki;
    TempDir root;
    Process server;
    std::uint16_t port;
    TlsServer()
        : server({binary, "--config",
                  root.write("c.json", R"({"tls": {"cert_file": ")" + pki.path("server.pem") + R"(", "key_file": ")" +
                                           pki.path("server.key") + R"("}})").string(),
                  "--root", root.path().string(), "--port", "0"}),
          port(server.wait_for_port()) {
        root.write("a.json", "{}");
        REQUIRE(port != 0);
    }
};

}  // namespace

TEST_CASE("a reload rotates the TLS certificate for new connections, established ones keep working", "[reload][tls]") {
    TlsServer t;
    Process& server = t.server;
    TestPki& pki = t.pki;
    TempDir& root = t.root;
    const std::uint16_t port = t.port;
    TlsClient before(port, pki.path("ca.pem"));
    CHECK(before.get("/a.json") == 200);

    renew(pki, "0ABCDEF123");
    server.signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    TlsClient after(port, pki.path("ca.pem"));
    CHECK(after.serial() == "0ABCDEF123");
    CHECK(after.serial() != before.serial());
    CHECK(after.get("/a.json") == 200);
    CHECK(before.get("/a.json") == 200);  // the old connection, on the old certificate, still answered

    // A broken key refuses the reload; the certificate in force stays.
    root.write("bad.key", "not a key");
    std::filesystem::copy_file(root.path() / "bad.key", pki.path("server.key"), std::filesystem::copy_options::overwrite_existing);
    server.signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(TlsClient(port, pki.path("ca.pem")).serial() == "0ABCDEF123");
    CHECK_THAT(server.output(), Catch::Contains("reload refused, still serving the previous configuration: tls.key_file"));
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

TEST_CASE("a certificate replaced on disk is served to new connections within seconds, without a signal", "[reload][tls]") {
    TlsServer t;
    Process& server = t.server;
    TestPki& pki = t.pki;
    const std::uint16_t port = t.port;
    TlsClient before(port, pki.path("ca.pem"));
    renew(pki, "0FEEDBEEF1");
    std::string serial;
    for (int i = 0; i < 40 && serial != "0FEEDBEEF1"; ++i) {  // looked at every 2 s
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        serial = TlsClient(port, pki.path("ca.pem")).serial();
    }
    CHECK(serial == "0FEEDBEEF1");
    CHECK(before.get("/a.json") == 200);
    CHECK_THAT(server.output(), Catch::Contains("changed on disk; new connections use it"));
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}
