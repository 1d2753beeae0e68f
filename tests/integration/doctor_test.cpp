// modelhost doctor against modelhost itself (allow, refuse, credentials) and against a deliberately wrong server.
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

using namespace modelhost::test;
namespace asio = boost::asio;

namespace {

const std::string binary = MODELHOST_BINARY;

void write_model(const TempDir& root) {
    root.write("m/model.json", R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"k","shape":[2],"dtype":"float32"}]}]})");
    root.write("m/group1-shard1of1.bin", std::string(8, '\0'));
}

// Answers every request on a fresh connection with the same canned response (status line and headers).
class WrongServer {
public:
    explicit WrongServer(std::string head) : head_(std::move(head)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] {
            for (;;) {
                asio::ip::tcp::socket s(ioc_);
                boost::system::error_code ec;
                acceptor_.accept(s, ec);
                if (ec || stop_) return;
                asio::streambuf buf;
                asio::read_until(s, buf, "\r\n\r\n", ec);
                std::string body = "{}";
                asio::write(s, asio::buffer(head_ + "Content-Length: 2\r\nConnection: close\r\n\r\n" + body), ec);
            }
        });
    }
    ~WrongServer() {
        stop_ = true;
        asio::ip::tcp::socket poke(ioc_);
        boost::system::error_code ec;
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/m/model.json"; }

private:
    std::string head_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

}  // namespace

TEST_CASE("doctor passes an allowed origin for model.json and every shard, and fails a refused one", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer s(root.path(), R"({"cors": {"allow_origins": ["http://localhost:5173"]}})");
    const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/m/model.json?v=1";
    auto [ok, out] = run_command({binary, "doctor", url, "--origin", "http://localhost:5173"});
    CHECK(ok == 0);
    CHECK_THAT(out, Catch::Contains("PASS " + url));
    CHECK_THAT(out, Catch::Contains("PASS http://127.0.0.1:" + std::to_string(s.port()) + "/m/group1-shard1of1.bin?v=1"));

    auto [refused, why] = run_command({binary, "doctor", url, "--origin", "https://evil.example"});
    CHECK(refused == 1);
    CHECK_THAT(why, Catch::Contains("No 'Access-Control-Allow-Origin' header is present on the requested resource"));

    auto [header, pre] = run_command({binary, "doctor", url, "--origin", "http://localhost:5173", "--header", "X-Trace"});
    CHECK(header == 1);
    CHECK_THAT(pre, Catch::Contains("Response to preflight request doesn't pass access control check"));
    auto [range, pre_ok] = run_command({binary, "doctor", url, "--origin", "http://localhost:5173", "--header", "Range"});
    CHECK(range == 0);

    auto [missing, status] = run_command({binary, "doctor", "http://127.0.0.1:" + std::to_string(s.port()) + "/m/nope.json",
                                          "--origin", "http://localhost:5173"});
    CHECK(missing == 1);
    CHECK_THAT(status, Catch::Contains("HTTP 404"));
}

TEST_CASE("doctor with credentials passes an exact origin with ACAC and fails a wildcard", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer cred(root.path(), R"({"cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": true}})");
    auto [ok, out] = run_command({binary, "doctor", "http://127.0.0.1:" + std::to_string(cred.port()) + "/m/model.json",
                                  "--origin", "https://app.example.com", "--credentials"});
    CHECK(ok == 0);
    TestServer star(root.path());
    auto [bad, why] = run_command({binary, "doctor", "http://127.0.0.1:" + std::to_string(star.port()) + "/m/model.json",
                                   "--origin", "https://app.example.com", "--credentials"});
    CHECK(bad == 1);
    CHECK_THAT(why, Catch::Contains("must not be the wildcard '*' when the request's credentials mode is 'include'"));
}

TEST_CASE("doctor names what a deliberately wrong server does", "[doctor]") {
    {
        WrongServer two("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://a.example\r\nAccess-Control-Allow-Origin: https://b.example\r\n");
        auto [code, out] = run_command({binary, "doctor", two.url(), "--origin", "https://a.example"});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("contains multiple values 'https://a.example, https://b.example', but only one is allowed"));
    }
    {
        WrongServer other("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://someone-else.example\r\n");
        auto [code, out] = run_command({binary, "doctor", other.url(), "--origin", "https://a.example"});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("has a value 'https://someone-else.example' that is not equal to the supplied origin"));
    }
    {
        WrongServer novary("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: https://a.example\r\n");
        auto [code, out] = run_command({binary, "doctor", novary.url(), "--origin", "https://a.example"});
        CHECK(code == 0);  // the browser accepts it; the cache hazard is a warning
        CHECK_THAT(out, Catch::Contains("Vary lacks Origin"));
    }
    {
        WrongServer star("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n");
        auto [code, out] = run_command({binary, "doctor", star.url(), "--origin", "https://a.example", "--credentials"});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("must not be the wildcard '*'"));
    }
}

TEST_CASE("doctor follows redirects and requires every hop to pass CORS", "[doctor]") {
    TempDir root;
    write_model(root);
    TestServer target(root.path());
    const std::string final_url = "http://127.0.0.1:" + std::to_string(target.port()) + "/m/model.json";
    WrongServer good("HTTP/1.1 302 Found\r\nLocation: " + final_url + "\r\nAccess-Control-Allow-Origin: *\r\n");
    auto [ok, out] = run_command({binary, "doctor", good.url(), "--origin", "https://a.example"});
    CHECK(ok == 0);
    // Shards resolve against the model URL the app gave (as TF.js does), here the redirecting server.
    CHECK_THAT(out, Catch::Contains("PASS " + good.url().substr(0, good.url().rfind('/')) + "/group1-shard1of1.bin"));
    WrongServer bad("HTTP/1.1 302 Found\r\nLocation: " + final_url + "\r\n");
    auto [code, why] = run_command({binary, "doctor", bad.url(), "--origin", "https://a.example"});
    CHECK(code == 1);
    CHECK_THAT(why, Catch::Contains("No 'Access-Control-Allow-Origin' header is present"));
}

namespace {

// A throwaway CA and a server certificate for 127.0.0.1, made with the openssl tool at test time.
struct TestPki {
    TempDir dir;
    TestPki() {
        dir.write("san.ext", "subjectAltName=IP:127.0.0.1\n");
        std::string d = dir.path().string();
        auto [code, out] = run_command({"/bin/sh", "-c",
            "cd '" + d + "' && "
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=modelhost-test-ca && "
            "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
            "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile san.ext"});
        INFO(out);
        REQUIRE(code == 0);
        // A second CA that signed nothing here: trusting it must not make the server trusted.
        auto [c2, o2] = run_command({"/bin/sh", "-c", "cd '" + d + "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 1 -subj /CN=other-ca"});
        REQUIRE(c2 == 0);
    }
    std::string path(const char* name) const { return (dir.path() / name).string(); }
};

// Serves one canned CORS-correct response per TLS connection.
class TlsServer {
public:
    TlsServer(const TestPki& pki, std::string head)
        : head_(std::move(head)), ctx_(asio::ssl::context::tls_server), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        ctx_.use_certificate_chain_file(pki.path("server.pem"));
        ctx_.use_private_key_file(pki.path("server.key"), asio::ssl::context::pem);
        thread_ = std::thread([this] {
            for (;;) {
                asio::ip::tcp::socket sock(ioc_);
                boost::system::error_code ec;
                acceptor_.accept(sock, ec);
                if (ec || stop_) return;
                asio::ssl::stream<asio::ip::tcp::socket&> tls(sock, ctx_);
                tls.handshake(asio::ssl::stream_base::server, ec);
                if (ec) continue;  // e.g. a client that does not trust us
                asio::streambuf buf;
                asio::read_until(tls, buf, "\r\n\r\n", ec);
                asio::write(tls, asio::buffer(head_ + "Content-Length: 2\r\nConnection: close\r\n\r\n{}"), ec);
                tls.shutdown(ec);
            }
        });
    }
    ~TlsServer() {
        stop_ = true;
        asio::ip::tcp::socket poke(ioc_);
        boost::system::error_code ec;
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/m/model.json"; }

private:
    std::string head_;
    asio::io_context ioc_;
    asio::ssl::context ctx_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

}  // namespace

TEST_CASE("doctor over HTTPS verifies the certificate against the given CA and fails clearly with the wrong one", "[doctor][tls]") {
    TestPki pki;
    TlsServer server(pki, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n");
    auto [ok, out] = run_command({binary, "doctor", server.url(), "--origin", "https://a.example", "--ca-file", pki.path("ca.pem")});
    CHECK(ok == 0);
    CHECK_THAT(out, Catch::Contains("PASS " + server.url()));
    auto [wrong, why] = run_command({binary, "doctor", server.url(), "--origin", "https://a.example", "--ca-file", pki.path("other.pem")});
    CHECK(wrong == 1);
    CHECK_THAT(why, Catch::Contains("TLS handshake failed"));
    CHECK_THAT(why, Catch::Contains("certificate verify failed"));
    auto [none, no_ca] = run_command({binary, "doctor", server.url(), "--origin", "https://a.example"});
    CHECK(none == 1);
    CHECK_THAT(no_ca, Catch::Contains("pass --ca-file"));
}
