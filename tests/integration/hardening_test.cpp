// Hostile clients over real sockets: floods stay bounded, framing is strict, a slow pipelined request is cut in time.
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>

using namespace modelhost::test;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

const std::string binary = MODELHOST_BINARY;

// What one flooding connection saw: the status line of the server's answer (empty if it only closed), bytes sent.
struct FloodResult {
    std::string status_line;
    std::uint64_t sent = 0;
    bool closed = false;
};

// Sends `head`, then `filler` over and over until the server answers or closes, or `limit` passes. Runs on client
// threads, so it reports a failure in its result rather than through Catch (whose assertions are not thread-safe).
FloodResult flood(std::uint16_t port, const std::string& head, const std::string& filler, std::chrono::milliseconds limit) {
    FloodResult r;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(head.size())) {
        r.status_line = std::string("connect or send of the head failed: ") + std::strerror(errno);
        ::close(fd);
        return r;
    }
    std::string got;
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN | POLLOUT, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[4096];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                r.closed = true;
                break;
            }
            got.append(buf, static_cast<std::size_t>(n));
            if (auto eol = got.find("\r\n"); eol != std::string::npos) {
                r.status_line = got.substr(0, eol);
                break;
            }
            continue;
        }
        ssize_t n = ::send(fd, filler.data(), filler.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN) {
            r.closed = true;
            break;
        }
        if (n > 0) r.sent += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    return r;
}

// Floods the server with one shape from `parallel` clients, connection after connection, for `duration`; every
// connection must be answered with `status` (4xx) within 5 s. Returns the number of connections.
int flood_for(std::uint16_t port, const std::string& head, const std::string& filler, const std::string& status,
              std::chrono::milliseconds duration, int parallel = 4) {
    auto end = std::chrono::steady_clock::now() + duration;
    std::atomic<int> connections{0}, wrong{0};
    std::string first_wrong;
    std::mutex m;
    std::vector<std::thread> clients;
    for (int i = 0; i < parallel; ++i)
        clients.emplace_back([&] {
            while (std::chrono::steady_clock::now() < end) {
                FloodResult r = flood(port, head, filler, 5s);
                ++connections;
                if (!r.status_line.starts_with("HTTP/1.1 " + status)) {
                    std::lock_guard lock(m);
                    if (wrong++ == 0) first_wrong = r.status_line + (r.closed ? " (closed)" : "");
                }
            }
        });
    for (auto& t : clients) t.join();
    INFO("first unexpected answer: " << first_wrong);
    CHECK(wrong == 0);
    return connections;
}

// The whole response stream of one connection as text (until the server closes).
std::string exchange(std::uint16_t port, const std::string& raw) {
    Client c(port, 10);
    c.send(raw);
    std::string all;
    c.stream_to_eof([&](const char* p, std::size_t n) { all.append(p, n); });
    return all;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("chunk-extension and trailer floods are answered 431 within max_header_bytes and memory stays flat",
          "[hardening][slow]") {
    TempDir dir;
    dir.write("a.json", "{}");
    auto config = dir.write("c.json", R"({"limits": {"max_header_bytes": 8192}, "log": {"access_log": false}})");
    // ASan's quarantine keeps freed memory resident on purpose; without it RSS shows what the server holds.
    Process server({binary, "--config", config.string(), "--root", dir.path().string(), "--port", "0", "--threads", "2"},
                   {"ASAN_OPTIONS=quarantine_size_mb=0:detect_leaks=0"});
    auto port = server.wait_for_port();
    REQUIRE(port != 0);

    const std::string chunked = "GET /a.json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string filler(4096, 'a');
    std::string small_chunks;
    while (small_chunks.size() < 4096) small_chunks += "1;ext=" + std::string(40, 'e') + "\r\nz\r\n";
    struct Shape {
        const char* what;
        std::string head, filler;
        std::chrono::milliseconds duration;
    };
    // One warm-up round first: the allocator's first use of each size class is not growth.
    flood_for(port, chunked + "1;", filler, "431", 2s);
    for (const Shape& shape : {Shape{"an endless chunk extension", chunked + "1;", filler, 10s},
                               Shape{"an endless trailer line", chunked + "0\r\nX-Trailer: ", filler, 10s},
                               Shape{"endless small chunks with extensions", chunked, small_chunks, 3s},
                               Shape{"an endless request line", "GET /", filler, 3s}}) {
        long before = server.status_kb("VmRSS");
        int connections = flood_for(port, shape.head, shape.filler, "431", shape.duration);
        long after = server.status_kb("VmRSS");
        INFO(shape.what << ": " << connections << " connections, RSS " << before << " kB -> " << after << " kB");
        CHECK(connections > 10);
        CHECK(after - before < 16 * 1024);
    }
    // The server still serves.
    CHECK(request(port, "GET", "/a.json").result_int() == 200);
    server.signal(SIGTERM);
    CHECK(server.wait() == std::optional<int>(0));
}

TEST_CASE("a request framed two ways is refused and its connection closed: nothing is smuggled", "[hardening]") {
    TempDir dir;
    dir.write("a.json", "{}");
    TestServer s(dir.path());
    const std::string next = "GET /a.json HTTP/1.1\r\nHost: x\r\n\r\n";
    struct Case {
        const char* what;
        std::string head;
        const char* status;
    };
    for (const Case& c : {
             Case{"Transfer-Encoding: gzip", "Transfer-Encoding: gzip\r\n", "400"},
             Case{"chunked, identity with Content-Length", "Transfer-Encoding: chunked, identity\r\nContent-Length: 40\r\n", "400"},
             Case{"Content-Length then chunked", "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n", "400"},
             Case{"chunked then Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n", "400"},
             Case{"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", "501"},
             Case{"two Content-Length values", "Content-Length: 0\r\nContent-Length: 40\r\n", "400"},
         }) {
        INFO(c.what);
        std::string all = exchange(s.port(), "GET /a.json HTTP/1.1\r\nHost: x\r\n" + c.head + "\r\n0\r\n\r\n" + next);
        CHECK(all.starts_with(std::string("HTTP/1.1 ") + c.status));
        CHECK(count(all, "HTTP/1.1 ") == 1);  // the bytes after the refused header are never read as a request
        CHECK(all.find("Connection: close") != std::string::npos);
    }
}

TEST_CASE("Host is required once in HTTP/1.1 and must be valid, and Transfer-Encoding is refused in HTTP/1.0", "[hardening]") {
    TempDir dir;
    dir.write("a.json", "{}");
    TestServer s(dir.path());
    CHECK(exchange(s.port(), "GET /a.json HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400"));
    CHECK(exchange(s.port(), "GET /a.json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").starts_with("HTTP/1.1 400"));
    CHECK(exchange(s.port(), "GET /a.json HTTP/1.1\r\nHost: user@a\r\n\r\n").starts_with("HTTP/1.1 400"));
    CHECK(exchange(s.port(), "GET /a.json HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").starts_with("HTTP/1.1 400"));
    CHECK(exchange(s.port(), "GET /a.json HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200"));
    // A valid chunked request (a body nobody needs) is still served.
    auto ok = exchange(s.port(), "GET /a.json HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                 "3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
    CHECK(ok.starts_with("HTTP/1.1 200"));
}

TEST_CASE("malformed header syntax is 400 and closes", "[hardening]") {
    TempDir dir;
    dir.write("a.json", "{}");
    TestServer s(dir.path());
    for (const std::string& bad : {"GET /a.json HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"s,      // obs-fold
                            "GET /a.json HTTP/1.1\r\nHost : x\r\n\r\n"s,                          // space before colon
                            "GET /a.json HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n"s,                // invalid name byte
                            "GET /a.json HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n"s,                   // bare CR
                            "GET /a.json HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n"s,                   // bare LF
                            "GET /a.json HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"s,              // NUL in a value
                            "GET /a.json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"s}) {  // bad chunk size
        INFO(bad);
        std::string all = exchange(s.port(), bad + "GET /a.json HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(all.starts_with("HTTP/1.1 400"));
        CHECK(count(all, "HTTP/1.1 ") == 1);
    }
}

TEST_CASE("a slow request pipelined behind a large download gets 408 when its deadline passes", "[hardening]") {
    TempDir dir;
    dir.write("big.bin", std::string(32 << 20, 'b'));
    dir.write("a.json", "{}");
    TestServer s(dir.path(), R"({"limits": {"header_timeout": 0.5}})");
    Client c(s.port(), 20);
    // The download fills the socket buffers while the client does not read; the second request stays unfinished.
    c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.json HTTP/1.1\r\nHost: x\r\n");
    std::this_thread::sleep_for(1500ms);
    c.send("\r\n");  // completes the second request, after its deadline
    auto big = c.read();
    CHECK(big.result_int() == 200);
    CHECK(big.body().size() == (32u << 20));
    auto late = c.read();
    CHECK(late.result_int() == 408);
    CHECK(c.closed_by_peer());
}
