// Raw client bytes after the client preface through the server's own HTTP/2 session (net::Http2Session: nghttp2's
// frames, HPACK, flow control, stream states, its flood limits; http::Handler on a real root), over a socketpair
// served by an io_context run in this thread, the bytes sent in pieces of a fuzzer-chosen size, the client reading
// the answers at once or only when it can no longer send. Checked on what the server writes: a valid frame sequence
// that starts with SETTINGS, every header block decodes (HPACK) to a :status first and no connection-specific field,
// DATA only after a final status and never past its Content-Length (all of it when DATA ends the stream), nothing on a
// stream the server ended, no PUSH_PROMISE, and after a GOAWAY no HEADERS or DATA for a stream above its last id.
// Checked on the session once the input is all sent and all its output read: every complete request is answered,
// no answer stalls with the client's windows open, nothing is left unsent; what it holds stays bounded (its write
// batch, the bytes allocated while it runs); and once the client leaves, the session ends and is destroyed.
#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "http/handler.hpp"
#include "net/http2_session.hpp"
#include "net/tracker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>
#include <nghttp2/nghttp2.h>
#include <sanitizer/allocator_interface.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <sys/socket.h>
#include <unistd.h>

namespace bhttp = boost::beast::http;
using Session = modelhost::net::Http2Session<boost::asio::ip::tcp::socket>;

namespace {

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Env {
    modelhost::config::Config cfg;
    std::unique_ptr<modelhost::http::Handler> handler;
    std::unique_ptr<modelhost::net::Tracker> tracker;
    boost::asio::io_context io;
};

Env& env() {
    static Env* e = [] {
        auto* made = new Env;
        auto root = std::filesystem::temp_directory_path() / ("modelhost-fuzz-http2-" + std::to_string(::getpid()));
        std::filesystem::create_directories(root / "m");
        std::ofstream(root / "m" / "model.json") << R"({"format":"graph-model","weightsManifest":[{"paths":["a.bin"],"weights":[]}]})";
        std::ofstream(root / "m" / "a.bin", std::ios::binary) << std::string(300, 'w');
        // Larger than the default window (65,535): its DATA waits for the client's WINDOW_UPDATEs.
        std::ofstream(root / "m" / "big.bin", std::ios::binary) << std::string(100 * 1024, 'b');
        made->cfg.server.root = root.string();
        made->cfg.cors.allow_origins = {"https://app.example.com"};
        made->cfg.limits.max_header_bytes = 4096;  // small, so the bounds are reached often
        made->cfg.limits.max_body_bytes = 4096;
        made->cfg.http2.cleartext = true;
        made->cfg.http2.max_concurrent_streams = 16;
        made->handler = std::make_unique<modelhost::http::Handler>(made->cfg);
        made->tracker = std::make_unique<modelhost::net::Tracker>(10);
        // Let the catalog's first build (its own thread) finish before fuzzing, so its allocations are not charged to
        // the first inputs.
        modelhost::http::Request models{bhttp::verb::get, "/v1/models", 11};
        models.set(bhttp::field::host, "x");
        while (made->handler->handle(models, {true, false}).reply.result_int() != 200)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return made;
    }();
    return *e;
}

std::uint32_t be(const unsigned char* p, int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | p[i];
    return v;
}

// The client's reading of what the server sends.
class Peer {
public:
    Peer() { FUZZ_CHECK(nghttp2_hd_inflate_new(&hd_) == 0); }
    ~Peer() { nghttp2_hd_inflate_del(hd_); }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    void take(const char* data, std::size_t n) {
        in_.append(data, n);
        std::size_t at = 0;
        while (in_.size() - at >= 9) {
            auto* h = reinterpret_cast<const unsigned char*>(in_.data() + at);
            const std::uint32_t length = be(h, 3);
            if (in_.size() - at < 9 + length) break;
            frame(h[3], h[4], be(h + 5, 4) & 0x7fffffffu, std::string_view(in_.data() + at + 9, length));
            at += 9 + length;
        }
        in_.erase(0, at);
    }
    // The server closed while the client was still there: after whole frames (it closes once its batch is out).
    void closed() const { FUZZ_CHECK(in_.empty() && continuing_ == 0); }

private:
    struct Seen {
        bool ended = false;                       // END_STREAM or RST_STREAM sent
        unsigned status = 0;                      // the final status (>= 200) once sent
        std::optional<std::uint64_t> length;      // its Content-Length
        std::uint64_t data = 0;                   // DATA payload bytes sent
    };

    static constexpr std::uint8_t end_stream = 0x1, end_headers = 0x4, padded = 0x8, priority = 0x20;

    void frame(std::uint8_t type, std::uint8_t flags, std::uint32_t id, std::string_view payload) {
        if (!settings_seen_) {
            FUZZ_CHECK(type == NGHTTP2_SETTINGS && !(flags & NGHTTP2_FLAG_ACK));  // the server's preface
            settings_seen_ = true;
        }
        if (continuing_ != 0) FUZZ_CHECK(type == NGHTTP2_CONTINUATION && id == continuing_);
        switch (type) {
            case NGHTTP2_DATA: {
                Seen& s = response_on(id);
                FUZZ_CHECK(s.status >= 200 && s.status != 204 && s.status != 304);  // content after a final head
                FUZZ_CHECK(payload.size() <= modelhost::net::max_data_frame && !(flags & padded));
                s.data += payload.size();
                if (s.length) FUZZ_CHECK(s.data <= *s.length);
                if (flags & end_stream) {
                    s.ended = true;
                    if (s.length) FUZZ_CHECK(s.data == *s.length);
                }
                break;
            }
            case NGHTTP2_HEADERS: {
                Seen& s = response_on(id);
                FUZZ_CHECK(s.status == 0);  // one head per response (no trailers are sent)
                std::size_t skip = 0, pad = 0;
                if (flags & padded) {
                    FUZZ_CHECK(!payload.empty());
                    pad = static_cast<unsigned char>(payload[0]);
                    skip = 1;
                }
                if (flags & priority) skip += 5;
                FUZZ_CHECK(skip + pad <= payload.size());
                block_.assign(payload.substr(skip, payload.size() - skip - pad));
                block_ends_stream_ = flags & end_stream;
                continuing_ = id;
                if (flags & end_headers) decode();
                break;
            }
            case NGHTTP2_CONTINUATION:
                FUZZ_CHECK(continuing_ == id && id != 0);
                block_.append(payload);
                if (flags & end_headers) decode();
                break;
            case NGHTTP2_RST_STREAM:
                FUZZ_CHECK(id != 0 && payload.size() == 4);
                streams_[id].ended = true;
                break;
            case NGHTTP2_SETTINGS:
                FUZZ_CHECK(id == 0 && payload.size() % 6 == 0);
                break;
            case NGHTTP2_PING:
                FUZZ_CHECK(id == 0 && payload.size() == 8);
                break;
            case NGHTTP2_GOAWAY: {
                FUZZ_CHECK(id == 0 && payload.size() >= 8);
                const std::uint32_t last = be(reinterpret_cast<const unsigned char*>(payload.data()), 4) & 0x7fffffffu;
                if (goaway_last_) FUZZ_CHECK(last <= *goaway_last_);  // a later GOAWAY never raises it
                goaway_last_ = last;
                break;
            }
            case NGHTTP2_WINDOW_UPDATE:
                FUZZ_CHECK(payload.size() == 4);
                break;
            default:
                FUZZ_CHECK(false);  // PRIORITY, PUSH_PROMISE or an extension: never sent by this server
        }
    }

    // HEADERS or DATA on `id`: a client stream the server has not ended, and none above a GOAWAY's last id.
    Seen& response_on(std::uint32_t id) {
        FUZZ_CHECK(id % 2 == 1);
        FUZZ_CHECK(!goaway_last_ || id <= *goaway_last_);
        Seen& s = streams_[id];
        FUZZ_CHECK(!s.ended);
        return s;
    }

    void decode() {
        Seen& s = streams_[continuing_];
        continuing_ = 0;
        auto* p = reinterpret_cast<const std::uint8_t*>(block_.data());
        std::size_t left = block_.size();
        bool first = true;
        for (;;) {
            nghttp2_nv nv;
            int got = 0;
            auto rv = nghttp2_hd_inflate_hd2(hd_, &nv, &got, p, left, 1);
            FUZZ_CHECK(rv >= 0);  // the server's HPACK always decodes
            p += rv;
            left -= static_cast<std::size_t>(rv);
            if (got & NGHTTP2_HD_INFLATE_EMIT) {
                std::string_view name(reinterpret_cast<const char*>(nv.name), nv.namelen);
                std::string_view value(reinterpret_cast<const char*>(nv.value), nv.valuelen);
                if (first) {
                    FUZZ_CHECK(name == ":status" && value.size() == 3 && value[0] >= '1' && value[0] <= '5');
                    s.status = static_cast<unsigned>(std::stoul(std::string(value)));
                } else {
                    FUZZ_CHECK(!name.empty() && name[0] != ':');
                    FUZZ_CHECK(std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
                    FUZZ_CHECK(name != "connection" && name != "transfer-encoding" && name != "keep-alive" &&
                               name != "upgrade" && name != "proxy-connection");
                    if (name == "content-length") {
                        FUZZ_CHECK(!s.length && !value.empty() && value.size() < 20 &&
                                   std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }));
                        s.length = std::stoull(std::string(value));
                    }
                }
                first = false;
            }
            if (got & NGHTTP2_HD_INFLATE_FINAL) {
                nghttp2_hd_inflate_end_headers(hd_);
                break;
            }
            if (rv == 0 && left == 0) FUZZ_CHECK(false);  // a header block cut short
        }
        FUZZ_CHECK(!first);
        FUZZ_CHECK(s.status >= 200);  // no interim responses are sent
        if (block_ends_stream_) s.ended = true;
    }

    nghttp2_hd_inflater* hd_ = nullptr;
    std::string in_, block_;
    bool settings_seen_ = false, block_ends_stream_ = false;
    std::uint32_t continuing_ = 0;
    std::optional<std::uint32_t> goaway_last_;
    std::unordered_map<std::uint32_t, Seen> streams_;
};

struct Run {
    int client;
    Peer peer;
    std::weak_ptr<Session> session;
    std::size_t baseline = __sanitizer_get_current_allocated_bytes();
    bool eof = false;
    bool left = false;  // the client has shut its side (then the server may close in the middle of a batch)

    // Runs what is ready on the server's side, then (when `read`) takes everything it wrote; true when anything moved.
    bool pump(bool read) {
        auto& io = env().io;
        io.restart();
        bool moved = io.poll() > 0;
        if (read && !eof) {
            char buf[64 * 1024];
            for (;;) {
                auto n = ::read(client, buf, sizeof buf);
                if (n > 0) {
                    peer.take(buf, static_cast<std::size_t>(n));
                    moved = true;
                    continue;
                }
                if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    eof = true;
                    if (!left) peer.closed();
                    moved = true;
                }
                if (n == 0 || errno != EINTR) break;
            }
        }
        bounded();
        return moved;
    }

    // What the session holds stays bounded whatever the client sends: its write batch (a batch plus one frame, grown
    // at most once), and the bytes allocated while it runs (its streams' requests and answers, nghttp2's state and
    // queues, the batch) under a bound derived from the limits.
    void bounded() const {
        const auto& cfg = env().cfg;
        if (auto s = session.lock()) FUZZ_CHECK(s->view().batch_capacity <= 3 * 64 * 1024);
        const std::size_t per_stream = 4 * cfg.limits.max_header_bytes + 32 * 1024;
        const std::size_t bound = cfg.http2.max_concurrent_streams * per_stream + 3 * 64 * 1024 + 2 * 1024 * 1024;
        const std::size_t now = __sanitizer_get_current_allocated_bytes();
        FUZZ_CHECK(now < baseline || now - baseline <= bound);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    Env& e = env();
    const std::size_t piece = std::size_t{1} << (data[0] % 13);  // 1 to 4096 bytes per send
    const bool small_buffers = data[1] & 1;                        // the kernel buffers writes in small pieces
    bool lazy = data[1] & 2;                                      // the client reads only when it cannot send
    std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    int fds[2];
    FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    if (small_buffers)
        for (int fd : fds) {
            int n = 4096;
            ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof n);
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof n);
        }
    Run run{fds[1], {}, {}};
    {
        boost::asio::ip::tcp::socket server(e.io);
        server.assign(boost::asio::ip::tcp::v4(), fds[0]);  // the session needs only read, write, shutdown, close
        // As the plain listener hands over h2c: the preface already read.
        auto session = std::make_shared<Session>(std::move(server), *e.handler, e.cfg.limits, e.cfg.http2, *e.tracker,
                                                 "fuzz", std::string(preface));
        run.session = session;
        session->run(false);
    }
    run.pump(!lazy);

    // The input, a piece at a time, while the server reads it (and, unless lazy, the client reads the answers).
    for (int rounds = 0; !input.empty() && rounds < 200000; ++rounds) {
        auto n = ::send(run.client, input.data(), std::min(piece, input.size()), MSG_NOSIGNAL);
        if (n > 0) input.remove_prefix(static_cast<std::size_t>(n));
        else if (errno != EAGAIN && errno != EINTR) break;  // the server closed
        const bool moved = run.pump(!lazy);
        if (n <= 0 && !moved) {
            if (!lazy) break;  // the server reads no more and has nothing to write: it is done with this input
            lazy = false;      // both ways full: the client reads now
        }
    }
    // All sent: the client reads everything until nothing moves.
    for (int idle = 0, rounds = 0; idle < 2 && rounds < 200000; ++rounds) idle = run.pump(true) ? 0 : idle + 1;

    if (auto s = run.session.lock()) {
        auto v = s->view();
        if (v.serving) {
            FUZZ_CHECK(!v.writing);      // the client took everything
            FUZZ_CHECK(!v.wants_write);  // and nothing sendable is left queued
            for (const auto& st : v.streams) {
                FUZZ_CHECK(!st.request_done || st.answered);  // a complete request is answered
                // an answer still going waits only for the client's flow-control window
                FUZZ_CHECK(!st.answered || st.response_done || st.window <= 0);
            }
        }
    }

    // The client leaves: the session ends its streams and is destroyed, without waiting for a deadline.
    ::shutdown(run.client, SHUT_WR);
    run.left = true;
    for (int rounds = 0; !run.session.expired() && rounds < 100000; ++rounds) run.pump(true);
    FUZZ_CHECK(run.session.expired());
    run.pump(false);  // the cancelled timer's handler
    ::close(run.client);
    return 0;
}
