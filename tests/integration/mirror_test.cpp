// Pull-through mirrors: a modelhost whose root starts empty fills itself from an upstream (here a canned peer that
// counts what it is asked, or misbehaves on purpose): single flight, atomic installs, remembered 404s, 502/504 with
// CORS, stale-if-error, revalidation of model.json, eviction under max_bytes, offline, and hostile upstreams.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string manifest = R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"w","shape":[250],"dtype":"float32"}]}]})";

std::string response(const std::string& status, const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 " + status + "\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

// An upstream whose answers the test sets per path (the query ignored); it counts every request head.
struct Upstream {
    std::mutex lock;
    std::map<std::string, std::string> answers;
    std::chrono::milliseconds delay{0};
    CannedServer server{[this](const std::string& head) {
        auto start = head.find(' ') + 1;
        std::string target = head.substr(start, head.find(' ', start) - start);
        std::this_thread::sleep_for(delay);
        std::lock_guard g(lock);
        auto it = answers.find(target.substr(0, target.find('?')));
        return it != answers.end() ? it->second : response("404 Not Found", "");
    }};

    void set(const std::string& path, const std::string& answer) {
        std::lock_guard g(lock);
        answers[path] = answer;
    }
    std::size_t asked(const std::string& needle) {
        auto heads = server.heads();
        return std::count_if(heads.begin(), heads.end(), [&](const std::string& h) { return h.find(needle) != std::string::npos; });
    }
};

// A mirroring modelhost on an empty root, `/hub/` -> the upstream, with `extra` mirror keys (",\"offline\": true").
struct MirrorServer {
    TempDir root;
    TestServer server;
    MirrorServer(const Upstream& up, const std::string& extra = "")
        : server(root.path(), R"({"cors": {"allow_origins": ["https://app.example"]}, "mirrors": [{"path": "/hub/", "upstream": ")" +
                                  up.server.base() + "/\"" + extra + "}]}") {}
    Response get(const std::string& target, const std::string& headers = "") {
        return request(server.port(), "GET", target, "Origin: https://app.example\r\n" + headers);
    }
    // Every file stored under the root outside the mirror's bookkeeping.
    std::vector<std::string> stored() {
        std::vector<std::string> out;
        for (const auto& e : fsys::recursive_directory_iterator(root.path()))
            if (e.is_regular_file() && e.path().string().find("/.mirror/") == std::string::npos)
                out.push_back(e.path().lexically_relative(root.path()).string());
        std::sort(out.begin(), out.end());
        return out;
    }
    // No transfer's file under .mirror/tmp (each process's folder there, and its owner lock file, stay while it runs).
    bool nothing_in_flight() {
        for (const auto& e : fsys::recursive_directory_iterator(root.path() / ".mirror/tmp"))
            if (e.is_regular_file() && !e.path().string().ends_with(".owner")) return false;
        return true;
    }
};

std::string header(const Response& r, const char* name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

}  // namespace

TEST_CASE("20 concurrent cold requests for one shard make one upstream request and all get its bytes", "[mirror]") {
    Upstream up;
    const std::string shard(1000, 's');
    up.set("/m/group1-shard1of1.bin", response("200 OK", shard));
    up.delay = std::chrono::milliseconds(300);  // the transfer is still running when the others arrive
    MirrorServer mirror(up);
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int i = 0; i < 20; ++i)
        clients.emplace_back([&] {
            auto r = mirror.get("/hub/m/group1-shard1of1.bin");
            ok += r.result_int() == 200 && r.body() == shard && header(r, "Access-Control-Allow-Origin") == "https://app.example";
        });
    for (auto& t : clients) t.join();
    CHECK(ok == 20);
    CHECK(up.asked("GET /m/group1-shard1of1.bin") == 1);
    CHECK(read_file(mirror.root.path() / "hub/m/group1-shard1of1.bin") == shard);
    CHECK(mirror.nothing_in_flight());
    up.delay = std::chrono::milliseconds(0);
    CHECK(mirror.get("/hub/m/group1-shard1of1.bin").body() == shard);  // from disk now
    CHECK(up.asked("GET /m/group1-shard1of1.bin") == 1);
}

TEST_CASE("the request's query goes upstream, escapes and active content never reach it", "[mirror][hardening]") {
    Upstream up;
    up.set("/m/model.json", response("200 OK", manifest));
    MirrorServer mirror(up);
    CHECK(mirror.get("/hub/m/model.json?tfjs-format=file").body() == manifest);
    CHECK(up.asked("GET /m/model.json?tfjs-format=file HTTP/1.1") == 1);
    for (const std::string bad : {"/hub/../etc/passwd", "/hub/%2e%2e/x.bin", "/hub/a%2fb.bin", "/hub/.hidden/x.bin", "/hub/page.html",
                                  "/hub/x.svg", "/hub/x.js"}) {
        INFO(bad);
        auto r = mirror.get(bad);
        CHECK(r.result_int() >= 400);
        CHECK(r.result_int() < 500);
    }
    CHECK(up.server.heads().size() == 1);
}

TEST_CASE("a transfer cut mid-way installs nothing, cuts the clients streaming it, and the next request retries", "[mirror]") {
    Upstream up;
    up.set("/m/a.bin", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" + std::string(400, 'a'));
    MirrorServer mirror(up);
    // A client that began streaming was promised 1000 bytes and got what arrived; its connection then ends short of
    // them, which is how HTTP/1.1 says the body failed. One that asked after the cut gets the 502 at once.
    Client streaming(mirror.server.port());
    streaming.send("GET /hub/m/a.bin HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n");
    std::string received;
    streaming.stream_to_eof([&](const char* data, std::size_t n) { received.append(data, n); });
    INFO(received);
    const auto head_end = received.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    if (received.starts_with("HTTP/1.1 200 OK\r\n")) {
        CHECK_THAT(received, Catch::Contains("Content-Length: 1000\r\n"));
        CHECK(received.size() - head_end - 4 < 1000);
    } else {
        CHECK(received.starts_with("HTTP/1.1 502 "));
        CHECK_THAT(received, Catch::Contains("Access-Control-Allow-Origin: https://app.example\r\n"));
    }
    CHECK(mirror.stored().empty());
    CHECK(mirror.nothing_in_flight());
    // A request after the failure (within its second of memory) gets 502, with CORS so the browser sees the status.
    auto failed = mirror.get("/hub/m/a.bin");
    CHECK(failed.result_int() == 502);
    CHECK(header(failed, "Access-Control-Allow-Origin") == "https://app.example");
    up.set("/m/a.bin", response("200 OK", std::string(1000, 'a')));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the failure's memory
    auto retried = mirror.get("/hub/m/a.bin");
    CHECK(retried.result_int() == 200);
    CHECK(retried.body() == std::string(1000, 'a'));
    CHECK(up.asked("GET /m/a.bin") == 2);
}

TEST_CASE("an upstream 404 is remembered for not_found_ttl, a slow upstream is 504", "[mirror]") {
    Upstream up;
    MirrorServer mirror(up, R"(, "not_found_ttl": 1, "timeout": 1)");
    CHECK(mirror.get("/hub/m/missing.bin").result_int() == 404);
    CHECK(mirror.get("/hub/m/missing.bin").result_int() == 404);
    CHECK(up.asked("GET /m/missing.bin") == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK(mirror.get("/hub/m/missing.bin").result_int() == 404);
    CHECK(up.asked("GET /m/missing.bin") == 2);

    up.set("/m/slow.bin", response("200 OK", "late"));
    up.delay = std::chrono::milliseconds(2500);
    auto slow = mirror.get("/hub/m/slow.bin");
    CHECK(slow.result_int() == 504);
    CHECK(header(slow, "Access-Control-Allow-Origin") == "https://app.example");
    CHECK(mirror.stored().empty());
}

TEST_CASE("model.json is revalidated after revalidate_after, a changed one replaces it and its old shards go", "[mirror][validators]") {
    Upstream up;
    up.set("/m/model.json", response("200 OK", manifest, "ETag: \"v1\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    up.set("/m/group1-shard1of1.bin", response("200 OK", std::string(1000, '1')));
    MirrorServer mirror(up, R"(, "revalidate_after": 0.3)");
    CHECK(mirror.get("/hub/m/model.json").body() == manifest);
    CHECK(mirror.get("/hub/m/group1-shard1of1.bin").result_int() == 200);
    CHECK(fsys::last_write_time(mirror.root.path() / "hub/m/model.json") ==  // the upstream's Last-Modified
          fsys::file_time_type::clock::from_sys(std::chrono::system_clock::from_time_t(784111777)));

    up.set("/m/model.json", response("304 Not Modified", ""));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    CHECK(mirror.get("/hub/m/model.json").body() == manifest);
    CHECK(up.asked("If-None-Match: \"v1\"") == 1);
    CHECK(mirror.get("/hub/m/model.json").body() == manifest);  // fresh again: not asked
    CHECK(up.asked("GET /m/model.json") == 2);

    const std::string changed = manifest.substr(0, manifest.size() - 2) + R"(,"v":2})";
    up.set("/m/model.json", response("200 OK", changed, "ETag: \"v2\"\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    CHECK(mirror.get("/hub/m/model.json").body() == changed);
    CHECK_FALSE(fsys::exists(mirror.root.path() / "hub/m/group1-shard1of1.bin"));  // fetched again for the new manifest

    up.set("/m/model.json", response("500 Internal Server Error", ""));  // stale-if-error
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    auto stale = mirror.get("/hub/m/model.json");
    CHECK(stale.result_int() == 200);
    CHECK(stale.body() == changed);
}

TEST_CASE("a shard of a stored model.json may not exceed its declared bytes, a hostile upstream changes nothing on disk", "[mirror][hardening]") {
    Upstream up;
    up.set("/m/model.json", response("200 OK", manifest));
    up.set("/m/group1-shard1of1.bin", response("200 OK", std::string(1001, 'x')));  // declared: 250 float32 = 1000
    up.set("/m/short.bin", response("200 OK", std::string(10, 'x')));
    up.set("/m/endless.bin", canned_endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "400\r\n" + std::string(1024, 'e') + "\r\n"));
    up.set("/m/elsewhere.bin", "HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x.bin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    MirrorServer mirror(up, R"(, "max_file_bytes": 100000)");
    CHECK(mirror.get("/hub/m/model.json").result_int() == 200);
    for (const std::string path : {"/hub/m/group1-shard1of1.bin", "/hub/m/endless.bin", "/hub/m/elsewhere.bin"}) {
        INFO(path);
        CHECK(mirror.get(path).result_int() == 502);
    }
    CHECK(mirror.stored() == std::vector<std::string>{"hub/m/model.json"});
    CHECK(mirror.nothing_in_flight());
    up.set("/m/group1-shard1of1.bin", response("200 OK", std::string(999, 'x')));  // one group, one shard: exactly 1000
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK(mirror.get("/hub/m/group1-shard1of1.bin").result_int() == 502);
    CHECK(mirror.stored() == std::vector<std::string>{"hub/m/model.json"});
}

TEST_CASE("max_bytes evicts the least recently used files, offline serves only what is stored", "[mirror]") {
    Upstream up;
    for (const char* name : {"/m/a.bin", "/m/b.bin", "/m/c.bin"}) up.set(name, response("200 OK", std::string(1000, name[3])));
    {
        MirrorServer mirror(up, R"(, "max_bytes": 2500)");
        CHECK(mirror.get("/hub/m/a.bin").result_int() == 200);
        CHECK(mirror.get("/hub/m/b.bin").result_int() == 200);
        CHECK(mirror.get("/hub/m/a.bin").result_int() == 200);  // a is now used more recently than b
        CHECK(mirror.get("/hub/m/c.bin").result_int() == 200);
        CHECK(mirror.stored() == std::vector<std::string>{"hub/m/a.bin", "hub/m/c.bin"});
    }
    MirrorServer offline(up, R"(, "offline": true)");
    offline.root.write("hub/m/kept.bin", "kept");
    CHECK(offline.get("/hub/m/kept.bin").body() == "kept");
    CHECK(offline.get("/hub/m/b.bin").result_int() == 404);
    CHECK(up.asked("GET /m/b.bin") == 1);  // only the first server's request
}

TEST_CASE("over HTTP/2, 50 streams for one cold file make one upstream request", "[mirror][http2]") {
    Upstream up;
    up.set("/m/model.json", response("200 OK", manifest));
    up.delay = std::chrono::milliseconds(200);
    TempDir root;
    TestServer server(root.path(), R"({"http2": {"cleartext": true}, "mirrors": [{"path": "/hub/", "upstream": ")" + up.server.base() + "/\"}]}");
    auto [code, out] = run_command({"/usr/bin/h2load", "-n", "50", "-c", "1", "-m", "50",
                                    "http://127.0.0.1:" + std::to_string(server.port()) + "/hub/m/model.json"});
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains("50 succeeded"));
    CHECK_THAT(out, Catch::Contains("50 2xx"));
    CHECK(up.asked("GET /m/model.json") == 1);
}

TEST_CASE("the first clients get a cold file's bytes while they arrive, over HTTP/1.1 and HTTP/2", "[mirror][http2]") {
    Upstream up;
    std::string body(400000, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 13 + 5);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 400000\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
    up.set("/m/one.bin", canned_slow(head, body, 4, 500));  // 2 s in all, the first quarter after 0.5 s
    up.set("/m/two.bin", canned_slow(head, body, 4, 500));
    TempDir root;
    TestServer server(root.path(), R"({"http2": {"cleartext": true}, "mirrors": [{"path": "/hub/", "upstream": ")" + up.server.base() + "/\"}]}");
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
    for (const auto& [path, protocol] : {std::pair<std::string, std::string>{"/hub/m/one.bin", "--http1.1"}, {"/hub/m/two.bin", "--http2-prior-knowledge"}}) {
        INFO(protocol);
        const fsys::path got = root.path() / "got.bin";
        auto [code, out] = run_command({"/usr/bin/curl", "-s", protocol, "-o", got.string(), "-D", "-", "-w",
                                        "first=%{time_starttransfer} total=%{time_total}\n", base + path});
        INFO(out);
        CHECK(code == 0);
        CHECK(read_file(got) == body);
        double first = std::stod(out.substr(out.find("first=") + 6)), total = std::stod(out.substr(out.find("total=") + 6));
        CHECK(first < 1.2);          // the head and the first bytes came with the first quarter
        CHECK(total - first > 0.9);  // the rest as it arrived
        CHECK_THAT(out, Catch::Contains("etag: \"61a80-") || Catch::Contains("ETag: \"61a80-"));  // size + the upstream's mtime
        // Installed whole, with the same ETag the streamed answer carried.
        auto stored = request(server.port(), "GET", path);
        CHECK(stored.body() == body);
        CHECK_THAT(out, Catch::Contains(std::string(stored[boost::beast::http::field::etag])));
    }
    // Many small pieces to eight clients at once, each asking again on the same connection right after: every byte
    // once, in order, and each response ends exactly at its length (one that ended early garbles the second answer).
    std::string big(4000000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + (i >> 12));
    up.set("/m/three.bin", canned_slow("HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n", big, 4000, 0));
    std::vector<std::thread> clients;
    std::atomic<int> whole{0};
    for (int c = 0; c < 8; ++c)
        clients.emplace_back([&, c] {
            const fsys::path first = root.path() / ("first" + std::to_string(c)), second = root.path() / ("second" + std::to_string(c));
            auto [code, out] = run_command({"/usr/bin/curl", "-s", "--http1.1", "-o", first.string(), "-o", second.string(),
                                            base + "/hub/m/three.bin", base + "/hub/m/three.bin"});
            whole += code == 0 && read_file(first) == big && read_file(second) == big;
        });
    for (auto& t : clients) t.join();
    CHECK(whole == 8);
    // The same over HTTP/2: eight streams of one connection share the transfer, each gets all 4,000,000 bytes.
    up.set("/m/four.bin", canned_slow("HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n", big, 4000, 0));
    auto [code, out] = run_command({"/usr/bin/h2load", "-n", "8", "-c", "1", "-m", "8", base + "/hub/m/four.bin"});
    INFO(out);
    CHECK_THAT(out, Catch::Contains("8 succeeded"));
    CHECK_THAT(out, Catch::Contains("(32000000) data"));
    CHECK(up.server.heads().size() == 4);
}

// A file still arriving is answered as the stored file will be: the same validators (as far as they are known yet),
// Accept-Ranges, and preconditions and ranges applied to it (RFC 9110 §13, §14), not a bare 200.
TEST_CASE("a file still arriving answers ranges and conditionals with the validators the stored file will have", "[mirror][http2]") {
    Upstream up, up_content;  // (one each: a canned upstream answers one connection at a time)
    std::string body(400000, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 11 + 3);
    const std::string date = "Sun, 06 Nov 1994 08:49:37 GMT";  // 784111777
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 400000\r\nLast-Modified: " + date + "\r\n\r\n";
    up.set("/m/a.bin", canned_slow(head, body, 4, 800));  // 3.2 s in all, the last quarter at the end
    up_content.set("/m/c.bin", canned_slow(head, body, 4, 800));
    TempDir root, content_root;
    auto mirrors = [](const Upstream& u) { return R"("mirrors": [{"path": "/hub/", "upstream": ")" + u.server.base() + "/\"}]"; };
    TestServer server(root.path(), R"({"http2": {"cleartext": true}, )" + mirrors(up) + "}");
    TestServer by_content(content_root.path(), R"({"server": {"etag": "content"}, )" + mirrors(up_content) + "}");
    const std::string etag = "\"61a80-" + [] { char b[32]; std::snprintf(b, sizeof b, "%llx", 784111777ull * 1000000000ull); return std::string(b); }() + "\"";

    // The first clients start both transfers and get the whole files as they arrive.
    std::pair<int, std::string> first, first_content;
    const fsys::path got = root.path() / "got.bin", got_content = root.path() / "got_c.bin";
    std::thread a([&] { first = run_command({"/usr/bin/curl", "-s", "-o", got.string(), "-D", "-", "http://127.0.0.1:" + std::to_string(server.port()) + "/hub/m/a.bin"}); });
    std::thread c([&] { first_content = run_command({"/usr/bin/curl", "-s", "-o", got_content.string(), "-D", "-", "http://127.0.0.1:" + std::to_string(by_content.port()) + "/hub/m/c.bin"}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();

    auto not_modified = request(server.port(), "GET", "/hub/m/a.bin", "If-None-Match: " + etag + "\r\n");
    CHECK(not_modified.result_int() == 304);
    CHECK(header(not_modified, "ETag") == etag);
    CHECK(header(not_modified, "Last-Modified") == date);
    CHECK(request(server.port(), "GET", "/hub/m/a.bin", "If-Match: \"other\"\r\n").result_int() == 412);
    CHECK(request(server.port(), "GET", "/hub/m/a.bin", "Range: bytes=400000-\r\n").result_int() == 416);
    // A "content" ETag needs every byte: while they arrive only the date is a validator.
    auto by_date = request(by_content.port(), "GET", "/hub/m/c.bin", "If-Modified-Since: " + date + "\r\n");
    CHECK(by_date.result_int() == 304);
    CHECK(header(by_date, "ETag").empty());
    CHECK(header(by_date, "Last-Modified") == date);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));  // answered while arriving

    // Ranges of what is there (HTTP/2) and of what is still to come (HTTP/1.1, waits for the last quarter).
    auto [code, h2] = run_command({"/usr/bin/curl", "-s", "--http2-prior-knowledge", "-r", "1000-1999", "-D", "-", "-o",
                                   (root.path() / "range.bin").string(), "http://127.0.0.1:" + std::to_string(server.port()) + "/hub/m/a.bin"});
    INFO(h2);
    CHECK(code == 0);
    CHECK_THAT(h2, Catch::Contains("HTTP/2 206") && Catch::Contains("content-range: bytes 1000-1999/400000") &&
                       Catch::Contains("etag: " + etag) && Catch::Contains("accept-ranges: bytes"));
    CHECK(read_file(root.path() / "range.bin") == body.substr(1000, 1000));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2000));  // with the first quarter
    auto tail = request(server.port(), "GET", "/hub/m/a.bin", "Range: bytes=300000-300099\r\n");
    CHECK(tail.result_int() == 206);
    CHECK(header(tail, "Content-Range") == "bytes 300000-300099/400000");
    CHECK(tail.body() == body.substr(300000, 100));

    a.join();
    c.join();
    INFO(first.second);
    CHECK(read_file(got) == body);
    CHECK(read_file(got_content) == body);
    CHECK_THAT(first.second, Catch::Contains("Accept-Ranges: bytes") && Catch::Contains("ETag: " + etag) &&
                                 Catch::Contains("Last-Modified: " + date));
    CHECK_THAT(first_content.second, Catch::Contains("Accept-Ranges: bytes") && !Catch::Contains("ETag:"));
    CHECK(up.asked("GET /m/a.bin") == 1);  // every answer above came from the one transfer
    CHECK(up_content.asked("GET /m/c.bin") == 1);
    // Stored whole: the same validators, and the content ETag now that every byte is known.
    CHECK(header(request(server.port(), "GET", "/hub/m/a.bin"), "ETag") == etag);
    auto stored = request(by_content.port(), "GET", "/hub/m/c.bin");
    CHECK(header(stored, "Last-Modified") == date);
    CHECK(header(stored, "ETag").size() == 34);  // 128 bits in hex, quoted
}

TEST_CASE("an https upstream is verified (a private CA only with ca_file), and never redirects to plain http", "[mirror][tls][hardening]") {
    TestPki pki;
    auto ctx = pki.server_context();
    CannedServer plain({{"/m/a.bin", response("200 OK", "plain bytes")}}, response("404 Not Found", ""));
    CannedServer https({{"/m/a.bin", response("200 OK", "verified bytes")},
                        {"/m/down.bin", "HTTP/1.1 302 Found\r\nLocation: " + plain.base() + "/m/a.bin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"}},
                       response("404 Not Found", ""), &ctx);
    auto config = [&](const std::string& extra) {
        return R"({"mirrors": [{"path": "/hub/", "upstream": ")" + https.base() + "/\"" + extra + "}]}";
    };
    TempDir trusting_root, untrusting_root;
    TestServer trusting(trusting_root.path(), config(R"(, "ca_file": ")" + pki.path("ca.pem") + "\""));
    TestServer untrusting(untrusting_root.path(), config(""));
    CHECK(request(trusting.port(), "GET", "/hub/m/a.bin").body() == "verified bytes");
    CHECK(request(untrusting.port(), "GET", "/hub/m/a.bin").result_int() == 502);  // certificate verify failed
    CHECK_FALSE(fsys::exists(untrusting_root.path() / "hub/m/a.bin"));
    CHECK(request(trusting.port(), "GET", "/hub/m/down.bin").result_int() == 502);  // https -> http refused
    CHECK_FALSE(fsys::exists(trusting_root.path() / "hub/m/down.bin"));
    CHECK(plain.targets().empty());  // the plain-http target was never asked
}

TEST_CASE("names are re-encoded for the upstream, and a garbled .mirror/index.json does not stop the server", "[mirror][hardening]") {
    Upstream up;
    up.set("/m/a%20b+c.bin", response("200 OK", "spaced"));
    TempDir root;
    root.write(".mirror/index.json", R"({"/hub/m/x.bin": {"etag": 5, "checked": "yesterday", "used": null}, "/hub/y": 3})");
    root.write("hub/m/x.bin", "kept");
    TestServer server(root.path(), R"({"mirrors": [{"path": "/hub/", "upstream": ")" + up.server.base() + "/\"}]}");
    CHECK(request(server.port(), "GET", "/hub/m/a%20b+c.bin").body() == "spaced");
    CHECK(up.asked("GET /m/a%20b+c.bin HTTP/1.1") == 1);
    CHECK(request(server.port(), "GET", "/hub/m/x.bin").body() == "kept");
}
