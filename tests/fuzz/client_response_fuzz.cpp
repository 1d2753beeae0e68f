// Hostile bytes as an upstream's whole HTTP response (status line, fields, chunked or Content-Length or
// close-delimited bodies, Content-Range) to the client `fetch` and the mirrors use: a loopback server thread reads
// the request, writes the input and closes. Through http_download (a fresh file, or a resumed one with a Range
// asked for) or http_request (GET with its body, HEAD without). Whatever comes back: a response or HttpError
// (TimedOut among them) or BodyTooLarge, never another exception, and never FileError (the file is writable: the
// peer's bytes are never blamed on the disk). A download's file never holds more than max_bytes + 1 bytes; a 200
// holds its whole body (its Content-Length, when it has one); a 206 is accepted only with the Content-Range asked
// for and leaves the bytes kept before it in place, followed by exactly that range; any other status leaves the
// file as it was; on_head saw the status returned.
#include "client/http_client.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace client = modelhost::client;

namespace {

// Answers each connection with `response`, then closes it.
class Upstream {
public:
    Upstream() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        FUZZ_CHECK(listener_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        FUZZ_CHECK(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(listener_, 8) == 0);
        socklen_t len = sizeof a;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        std::thread([this] { serve(); }).detach();
    }
    unsigned port() const { return port_; }

    void answer_next(std::string response) {
        std::lock_guard lock(mutex_);
        response_ = std::move(response);
        done_ = false;
    }
    // The connection is over on the server's side (so the next input's connection finds it idle).
    void wait_done() {
        std::unique_lock lock(mutex_);
        done_cv_.wait(lock, [this] { return done_; });
    }

private:
    void serve() {
        for (;;) {
            int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            timeval t{2, 0};  // a safety net only: the client always reads or closes
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
            // The request first (a close with unread bytes would reset the connection instead).
            std::string request;
            char buf[4096];
            while (request.find("\r\n\r\n") == std::string::npos) {
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, 1000) <= 0) break;
                auto n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                request.append(buf, static_cast<std::size_t>(n));
            }
            std::string response;
            {
                std::lock_guard lock(mutex_);
                response = response_;
            }
            std::size_t at = 0;
            while (at < response.size()) {
                auto n = ::send(fd, response.data() + at, response.size() - at, MSG_NOSIGNAL);
                if (n <= 0) break;  // the client has gone (it stopped after the head)
                at += static_cast<std::size_t>(n);
            }
            ::shutdown(fd, SHUT_WR);
            ::close(fd);
            {
                std::lock_guard lock(mutex_);
                done_ = true;
            }
            done_cv_.notify_all();
        }
    }

    int listener_ = -1;
    unsigned port_ = 0;
    std::mutex mutex_;
    std::condition_variable done_cv_;
    std::string response_;
    bool done_ = true;
};

Upstream& upstream() {
    static auto* u = new Upstream;
    return *u;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The single Content-Length (or -1 when none, or several).
long long content_length(const client::HttpResponse& r) {
    auto all = r.all("Content-Length");
    if (all.size() != 1) return -1;
    try {
        std::size_t end = 0;
        long long n = std::stoll(all[0], &end);
        return end == all[0].size() ? n : -1;
    } catch (...) {
        return -1;
    }
}

constexpr std::string_view kept = "0123456789";  // what an earlier attempt left in the file

void download(const client::HttpUrl& url, bool resume, std::uint64_t max_bytes) {
    static const std::string path =
        (std::filesystem::temp_directory_path() / ("modelhost-fuzz-client-" + std::to_string(::getpid()))).string();
    std::filesystem::remove(path);
    client::DownloadTarget target;
    target.path = path;
    target.max_bytes = max_bytes;
    if (resume) {
        std::ofstream(path, std::ios::binary) << kept;
        target.have = kept.size();
        target.if_range = "\"v1\"";
    }
    unsigned head_status = 0;
    target.on_head = [&](const client::HttpResponse& r) {
        FUZZ_CHECK(head_status == 0);
        head_status = r.status;
    };
    client::ClientOptions options;
    options.idle_seconds = 1;  // never reached: the upstream always closes
    options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    bool thrown = true;
    client::HttpResponse r;
    try {
        r = client::http_download(url, target, options);
        thrown = false;
    } catch (const client::FileError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        FUZZ_CHECK(false);  // the file is writable: a peer's bytes are never a local failure
    } catch (const client::HttpError&) {
    } catch (const client::BodyTooLarge&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        FUZZ_CHECK(false);  // none other is documented
    } catch (...) {
        FUZZ_CHECK(false);
    }
    const bool exists = std::filesystem::exists(path);
    const std::string file = exists ? read_all(path) : std::string();
    FUZZ_CHECK(file.size() <= max_bytes + 1);
    if (thrown) return;
    FUZZ_CHECK(r.status <= 999);  // three digits (Beast takes "000": a status 0, which every caller refuses)
    if (r.status == 200) {
        FUZZ_CHECK(head_status == 200 && exists && file.size() <= max_bytes);
        if (auto n = content_length(r); n >= 0) FUZZ_CHECK(file.size() == static_cast<std::uint64_t>(n));
    } else if (r.status == 206) {
        FUZZ_CHECK(resume && head_status == 206);
        auto ranges = r.all("Content-Range");
        FUZZ_CHECK(ranges.size() == 1);
        unsigned long long first = 0, last = 0;
        FUZZ_CHECK(std::sscanf(ranges[0].c_str(), "bytes %llu-%llu/", &first, &last) == 2);
        FUZZ_CHECK(first == kept.size() && last >= first && last < max_bytes);
        FUZZ_CHECK(file.starts_with(kept));
        FUZZ_CHECK(file.size() == last + 1);  // exactly the range asked for follows what was kept
    } else {
        FUZZ_CHECK(head_status == 0);
        FUZZ_CHECK(resume ? file == kept : !exists);  // untouched
    }
}

void request(const client::HttpUrl& url, bool head) {
    client::ClientOptions options;
    options.idle_seconds = 1;
    options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    try {
        auto r = client::http_request(url, head ? "HEAD" : "GET", {}, !head, options);
        FUZZ_CHECK(r.status <= 999);
        if (head) FUZZ_CHECK(r.body.empty());
        FUZZ_CHECK(r.body.size() <= (64u << 20));
    } catch (const client::HttpError&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        FUZZ_CHECK(false);  // only HttpError is documented
    } catch (...) {
        FUZZ_CHECK(false);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    Upstream& up = upstream();
    static const auto url = client::parse_http_url("http://127.0.0.1:" + std::to_string(up.port()) + "/m/a.bin");
    const unsigned mode = data[0] % 4;
    const std::uint64_t max_bytes = 16 + data[1];  // small, so bodies longer than it are common
    up.answer_next(std::string(reinterpret_cast<const char*>(data) + 2, size - 2));
    switch (mode) {
        case 0: download(*url, false, max_bytes); break;
        case 1: download(*url, true, max_bytes); break;
        case 2: request(*url, false); break;
        default: request(*url, true); break;
    }
    up.wait_done();
    return 0;
}
