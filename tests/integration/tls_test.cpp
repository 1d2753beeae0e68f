// The TLS listener as an auditor sees it (Debian's testssl.sh): no CBC suites, no weak protocol, ALPN offering h2;
// session-ticket keys that rotate (openssl s_client resumes before a rotation, not after); and the record layer under
// pipelining, a slow reader and a KeyUpdate.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"

#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <sstream>
#include <tuple>
#include <thread>

using namespace modelhost::test;

namespace {

std::string tls_section(const TestPki& pki, const std::string& more = "") {
    return R"({"tls": {"cert_file": ")" + pki.path("server.pem") + R"(", "key_file": ")" + pki.path("server.key") + "\"" +
           more + "}}";
}

}  // namespace

TEST_CASE("testssl.sh finds nothing vulnerable or not ok that the configuration controls, no CBC, and ALPN h2", "[tls][slow]") {
    TestPki pki;
    TempDir root;
    root.write("model.json", "{}");
    TestServer s(root.path(), tls_section(pki));
    // Protocols, cipher categories, server preferences and defaults, vulnerabilities (client simulation left out).
    const std::vector<std::string> testssl{"/usr/bin/testssl", "--color", "0", "--warnings", "off", "--quiet", "--add-ca",
                                           pki.path("ca.pem"), "-p", "-s", "-P", "-S", "-U", "--ip", "one",
                                           "127.0.0.1:" + std::to_string(s.port())};
    auto [code, out] = run_command(testssl);
    // testssl's resumption probe is `s_client -sess_out </dev/null`, which closes as soon as the handshake is done: on
    // a loaded machine it can leave before the TLS 1.3 ticket (sent right after the handshake) arrives, saves no
    // session and reports "Connect problem". Up to two more runs then (the browser tests beside it load both cores);
    // resumption itself is tested below with -ign_eof.
    for (int again = 0; again < 2 && out.find("Connect problem: Ticket resumption test not") != std::string::npos; ++again)
        std::tie(code, out) = run_command(testssl);
    INFO(out);
    CHECK_THAT(out, Catch::Contains("ALPN/HTTP2 h2, http/1.1 (offered)"));
    CHECK_THAT(out, Catch::Matches("[\\s\\S]*Obsolete CBC ciphers \\(AES, ARIA etc.\\) +not offered[\\s\\S]*"));
    CHECK_THAT(out, Catch::Matches("[\\s\\S]*TLS 1\\.3 +offered \\(OK\\)[\\s\\S]*"));
    CHECK_THAT(out, Catch::Matches("[\\s\\S]*TLS 1\\.1 +not offered[\\s\\S]*"));
    CHECK_THAT(out, Catch::Contains("LUCKY13 (CVE-2013-0169), experimental     not vulnerable (OK)"));
    std::istringstream lines(out);
    std::string line;
    std::vector<std::string> bad;
    while (std::getline(lines, line)) {
        // Revocation URIs are a property of the certificate (the operator's CA), not of modelhost's configuration.
        if (line.find("CRL nor OCSP") != std::string::npos) continue;
        if (line.find("VULNERABLE") != std::string::npos || line.find("NOT ok") != std::string::npos) bad.push_back(line);
    }
    CHECK(bad.empty());
    CHECK(code == 0);
}

TEST_CASE("session tickets resume until tls.ticket_key_rotation, then the keys are new", "[tls]") {
    TestPki pki;
    TempDir root, scratch;
    TestServer s(root.path(), tls_section(pki, R"(, "ticket_key_rotation": 3)"));
    const std::string at = "127.0.0.1:" + std::to_string(s.port());
    const std::string session = (scratch.path() / "session.pem").string();
    auto handshake = [&](const std::vector<std::string>& extra) {
        // One request that closes the connection: s_client stays until then (-ign_eof), so it receives the ticket
        // TLS 1.3 sends after the handshake.
        std::vector<std::string> argv{"/bin/sh", "-c", "printf 'GET /x HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
                                                       "openssl s_client -ign_eof -connect " + at + " -tls1_3 -CAfile " + pki.path("ca.pem")};
        for (const auto& e : extra) argv[2] += " " + e;
        return run_command(argv).second;
    };
    handshake({"-sess_out", session});
    CHECK_THAT(handshake({"-sess_in", session}), Catch::Contains("Reused, TLSv1.3"));
    // The watch looks every 2 s: the keys made at start are replaced at the look 4 s in (the next one at 8 s).
    std::this_thread::sleep_for(std::chrono::milliseconds(5000));
    auto after = handshake({"-sess_in", session});
    CHECK_THAT(after, Catch::Contains("New, TLSv1.3"));
    CHECK_THAT(after, Catch::Contains("Verify return code: 0 (ok)"));
}

namespace {

// A blocking TLS client on OpenSSL, for what curl cannot do: pipelining many requests in one record, reading slowly
// through a small receive buffer, and asking for a TLS 1.3 KeyUpdate mid-connection.
class RawTlsClient {
public:
    RawTlsClient(std::uint16_t port, const std::string& ca_file, int receive_buffer) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        REQUIRE(ctx_);
        REQUIRE(SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) == 1);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);  // before connect: the window
        timeval tv{20, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set1_host(ssl_, "127.0.0.1");
        REQUIRE(SSL_connect(ssl_) == 1);
    }
    ~RawTlsClient() {
        SSL_free(ssl_);
        ::close(fd_);
        SSL_CTX_free(ctx_);
    }
    RawTlsClient(const RawTlsClient&) = delete;
    RawTlsClient& operator=(const RawTlsClient&) = delete;

    void write(const std::string& bytes) { REQUIRE(SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size())); }
    bool key_update() { return SSL_key_update(ssl_, SSL_KEY_UPDATE_REQUESTED) == 1; }
    std::string cipher() const { return SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)); }

    // One response: its head and a body of its Content-Length; empty when the connection ended first.
    std::pair<std::string, std::string> read_response() {
        std::size_t end;
        while ((end = buffered_.find("\r\n\r\n")) == std::string::npos)
            if (!fill()) return {};
        std::string head = buffered_.substr(0, end + 4);
        buffered_.erase(0, end + 4);
        const auto at = head.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
        while (buffered_.size() < length)
            if (!fill()) return {};
        std::string body = buffered_.substr(0, length);
        buffered_.erase(0, length);
        return {head, body};
    }

private:
    bool fill() {
        char chunk[4096];
        const int n = SSL_read(ssl_, chunk, sizeof chunk);
        if (n <= 0) return false;
        buffered_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    std::string buffered_;
};

}  // namespace

TEST_CASE("over TLS, pipelined requests in separate records, a slow reader and a KeyUpdate all get every byte in order", "[tls][transfer]") {
    TestPki pki;
    TempDir root;
    std::string big(700001, '\0');  // an open descriptor: many 64 KiB batches, more than the socket buffers hold
    std::mt19937 rng(11);
    for (auto& c : big) c = static_cast<char>(rng());
    root.write("big.bin", big);
    root.write("small.json", "{\"small\": true}");  // in memory: head and body joined into one record
    TestServer s(root.path(), tls_section(pki));
    RawTlsClient client(s.port(), pki.path("ca.pem"), 4096);
    // OpenSSL's client offers AES-256-GCM first; the server's order (AES-128-GCM first, cheaper for both) decides.
    CHECK(client.cipher() == "TLS_AES_128_GCM_SHA256");

    // Twelve requests, one TLS record each, sent back to back: the server reads several records at once and must
    // answer the ones still undecrypted in its buffer without waiting for the socket (no more bytes are coming).
    for (int i = 0; i < 12; ++i) client.write(std::string("GET /") + (i % 3 == 1 ? "big.bin" : "small.json") + " HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server meets a full socket and waits to write
    for (int i = 0; i < 12; ++i) {
        INFO("response " << i);
        auto [head, body] = client.read_response();
        REQUIRE(head.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(body == (i % 3 == 1 ? big : std::string("{\"small\": true}")));
    }

    // A KeyUpdate asking the server to update its keys too: the next answers come under the server's new keys.
    REQUIRE(client.key_update());
    for (int i = 0; i < 3; ++i) {
        client.write("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        auto [head, body] = client.read_response();
        REQUIRE(head.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(body == big);
    }
}

TEST_CASE("over TLS, small responses that meet a full socket arrive whole and in order", "[tls][transfer]") {
    TestPki pki;
    TempDir root;
    // Small files come from memory and each response fits one record, which the server sends straight from OpenSSL's
    // buffer until the socket is full; the rest of that record waits, and so do the responses after it.
    std::vector<std::string> bodies;
    std::mt19937 rng(5);
    for (int i = 0; i < 5; ++i) {
        std::string b(15000 + static_cast<std::size_t>(i) * 200, '\0');  // with its head, still one record (16 KiB)
        for (auto& c : b) c = static_cast<char>(rng());
        root.write("s" + std::to_string(i) + ".bin", b);
        bodies.push_back(std::move(b));
    }
    TestServer s(root.path(), tls_section(pki));
    RawTlsClient client(s.port(), pki.path("ca.pem"), 4096);
    constexpr int requests = 1000;  // 15 MB: more than the socket buffers hold, so some record is sent in part
    std::string burst;
    for (int i = 0; i < requests; ++i) burst += "GET /s" + std::to_string(i % 5) + ".bin HTTP/1.1\r\nHost: x\r\n\r\n";
    client.write(burst);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // nothing is read meanwhile: the socket fills up
    for (int i = 0; i < requests; ++i) {
        INFO("response " << i);
        auto [head, body] = client.read_response();
        REQUIRE(head.starts_with("HTTP/1.1 200 OK\r\n"));
        REQUIRE(body == bodies[static_cast<std::size_t>(i % 5)]);
    }
}
