// A blocking accept loop on its own thread; TLS handshake failures (untrusting clients) are simply skipped.
#include "canned_server.hpp"

#include "process.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace modelhost::test {

namespace asio = boost::asio;

namespace {
const std::string endless_marker = "\x01endless:";
const std::string slow_marker = "\x01slow:";

// Fields of a marked response: "<marker><a>\n<b>\n<c>\n<rest>", numbers a, b, c.
std::array<std::size_t, 3> marked_fields(const std::string& response, std::size_t& rest) {
    std::array<std::size_t, 3> out{};
    std::size_t at = response.find(':') + 1;
    for (auto& v : out) {
        std::size_t nl = response.find('\n', at);
        v = std::stoul(response.substr(at, nl - at));
        at = nl + 1;
    }
    rest = at;
    return out;
}
}

CannedServer::CannedServer(std::map<std::string, std::string> routes, std::string fallback, asio::ssl::context* tls)
    : routes_(std::move(routes)), fallback_(std::move(fallback)), tls_(tls), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { accept_loop(); });
}

CannedServer::CannedServer(Responder responder)
    : responder_(std::move(responder)), tls_(nullptr), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { accept_loop(); });
}

void CannedServer::accept_loop() {
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
    std::string target = request.substr(start, request.find(' ', start) - start);
    {
        std::lock_guard lock(mutex_);
        targets_.push_back(target);
        heads_.push_back(request);
    }
    auto it = routes_.find(target.substr(0, target.find('?')));
    const std::string response = responder_ ? responder_(request) : it != routes_.end() ? it->second : fallback_;
    if (response.starts_with(slow_marker)) {  // pause, pieces, head length
        std::size_t at = 0;
        auto [pause, pieces, head_len] = marked_fields(response, at);
        asio::write(s, asio::buffer(response.data() + at, head_len), ec);
        const std::string body = response.substr(at + head_len);
        for (std::size_t i = 0, from = 0; i < pieces && !ec && !stop_; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(pause));
            std::size_t to = i + 1 == pieces ? body.size() : body.size() * (i + 1) / pieces;
            asio::write(s, asio::buffer(body.data() + from, to - from), ec);
            from = to;
        }
        return;
    }
    if (!response.starts_with(endless_marker)) {
        asio::write(s, asio::buffer(response), ec);
        return;
    }
    // endless_marker, pause in ms, '\n', head length, '\n', head, piece
    std::size_t at = endless_marker.size(), nl = response.find('\n', at);
    int pause = std::stoi(response.substr(at, nl - at));
    std::size_t nl2 = response.find('\n', nl + 1);
    std::size_t head_len = std::stoul(response.substr(nl + 1, nl2 - nl - 1));
    asio::write(s, asio::buffer(response.data() + nl2 + 1, head_len), ec);
    const std::string piece = response.substr(nl2 + 1 + head_len);
    while (!ec && !stop_) {
        asio::write(s, asio::buffer(piece), ec);
        if (pause > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
}

std::vector<std::string> CannedServer::targets() {
    std::lock_guard lock(mutex_);
    return targets_;
}

std::vector<std::string> CannedServer::heads() {
    std::lock_guard lock(mutex_);
    return heads_;
}

std::string canned_endless(const std::string& head, const std::string& piece, int pause_ms) {
    return endless_marker + std::to_string(pause_ms) + "\n" + std::to_string(head.size()) + "\n" + head + piece;
}

std::string canned_slow(const std::string& head, const std::string& body, int pieces, int pause_ms) {
    return slow_marker + std::to_string(pause_ms) + "\n" + std::to_string(pieces) + "\n" + std::to_string(head.size()) + "\n" + head + body;
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
