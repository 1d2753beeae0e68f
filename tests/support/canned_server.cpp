// A blocking accept loop on its own thread; TLS handshake failures (untrusting clients) are simply skipped.
#include "canned_server.hpp"

#include "process.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <stdexcept>

namespace modelhost::test {

namespace asio = boost::asio;

CannedServer::CannedServer(std::map<std::string, std::string> routes, std::string fallback, asio::ssl::context* tls)
    : routes_(std::move(routes)), fallback_(std::move(fallback)), tls_(tls), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
        for (;;) {
            asio::ip::tcp::socket sock(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(sock, ec);
            if (ec || stop_) return;
            if (!tls_) {
                serve(sock);
                continue;
            }
            asio::ssl::stream<asio::ip::tcp::socket&> s(sock, *tls_);
            s.handshake(asio::ssl::stream_base::server, ec);
            if (!ec) serve(s);
        }
    });
}

CannedServer::~CannedServer() {
    stop_ = true;
    asio::ip::tcp::socket poke(ioc_);
    boost::system::error_code ec;
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
}

std::string CannedServer::base() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
}

template <class Stream>
void CannedServer::serve(Stream& s) {
    boost::system::error_code ec;
    asio::streambuf buf;
    asio::read_until(s, buf, "\r\n\r\n", ec);
    std::string request((std::istreambuf_iterator<char>(&buf)), {});
    auto start = request.find(' ') + 1;
    std::string path = request.substr(start, request.find(' ', start) - start);
    path = path.substr(0, path.find('?'));
    auto it = routes_.find(path);
    asio::write(s, asio::buffer(it != routes_.end() ? it->second : fallback_), ec);
}

std::string canned_ok(const std::string& body, const std::string& extra) {
    return "HTTP/1.1 200 OK\r\n" + extra + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

TestPki::TestPki() {
    dir.write("san.ext", "subjectAltName=IP:127.0.0.1\n");
    auto [code, out] = run_command({"/bin/sh", "-c",
        "cd '" + dir.path().string() + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=modelhost-test-ca && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 1 -subj /CN=unrelated-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile san.ext"});
    if (code != 0) throw std::runtime_error("openssl could not make the test PKI: " + out);
}

asio::ssl::context TestPki::server_context() const {
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.use_certificate_chain_file(path("server.pem"));
    ctx.use_private_key_file(path("server.key"), asio::ssl::context::pem);
    return ctx;
}

}  // namespace modelhost::test
