// Validators, 304/412, ranges, content codings, cache invalidation and the sendfile path, over real sockets.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"

#include <boost/beast/http/field.hpp>
#include <fcntl.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <iterator>
#include <random>
#include <set>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

const std::string model_json = R"({"format":"graph-model","weightsManifest":[{"paths":["group1-shard1of1.bin"]}]})" +
                               std::string(2000, ' ');

std::string gunzip(const std::string& gz) {
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    std::string out(1 << 20, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? out : "<not gzip>";
}

std::vector<std::string> vary(const Response& r) {
    std::vector<std::string> out;
    std::string v(r[bhttp::field::vary]);
    for (std::size_t pos = 0; pos <= v.size();) {
        auto comma = v.find(',', pos);
        std::string t = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        t.erase(0, t.find_first_not_of(' '));
        if (!t.empty()) out.push_back(t);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

// Replaces a file the way deploy tools do: write a temporary, then rename over the old one.
void replace_atomically(const TempDir& dir, const std::string& name, const std::string& content) {
    dir.write(name + ".tmp-upload", content);
    std::filesystem::rename(dir.path() / (name + ".tmp-upload"), dir.path() / name);
}

const std::string cors_list = R"("cors": {"allow_origins": ["http://localhost:5173"]})";

}  // namespace

TEST_CASE("a matching If-None-Match or If-Modified-Since gives 304 with validators, caching and CORS headers", "[transfer]") {
    TempDir root;
    root.write("face/model.json", model_json);
    TestServer s(root.path(), "{" + cors_list + "}");
    const std::string origin = "Origin: http://localhost:5173\r\n";
    auto first = request(s.port(), "GET", "/face/model.json", origin);
    REQUIRE(first.result_int() == 200);
    std::string etag(first[bhttp::field::etag]);
    CHECK(etag.front() == '"');
    CHECK(first[bhttp::field::cache_control] == "no-cache");
    CHECK(!first[bhttp::field::last_modified].empty());
    CHECK(first[bhttp::field::accept_ranges] == "bytes");

    for (const std::string& cond : std::vector<std::string>{"If-None-Match: " + etag, "If-None-Match: \"nope\", W/" + etag,
                                   "If-Modified-Since: " + std::string(first[bhttp::field::last_modified])}) {
        INFO(cond);
        auto r = request(s.port(), "GET", "/face/model.json?v=2", origin + cond + "\r\n");
        CHECK(r.result_int() == 304);
        CHECK(r.body().empty());
        CHECK(r[bhttp::field::etag] == etag);
        CHECK(r[bhttp::field::last_modified] == first[bhttp::field::last_modified]);
        CHECK(r[bhttp::field::cache_control] == "no-cache");
        CHECK(r[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
        CHECK(vary(r) == std::vector<std::string>{"Accept-Encoding", "Origin"});
    }
    auto head = request(s.port(), "HEAD", "/face/model.json", "If-None-Match: " + etag + "\r\n");
    CHECK(head.result_int() == 304);
    auto changed = request(s.port(), "GET", "/face/model.json", "If-None-Match: \"other\"\r\n");
    CHECK(changed.result_int() == 200);
}

TEST_CASE("a failed If-Match or If-Unmodified-Since gives 412 with CORS headers", "[transfer]") {
    TempDir root;
    root.write("a.bin", "0123456789");
    TestServer s(root.path(), "{" + cors_list + "}");
    auto r = request(s.port(), "GET", "/a.bin", "Origin: http://localhost:5173\r\nIf-Match: \"stale\"\r\n");
    CHECK(r.result_int() == 412);
    CHECK(r[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    auto ius = request(s.port(), "GET", "/a.bin", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    CHECK(ius.result_int() == 412);
    std::string etag(request(s.port(), "GET", "/a.bin")[bhttp::field::etag]);
    CHECK(request(s.port(), "GET", "/a.bin", "If-Match: " + etag + "\r\n").result_int() == 200);
}

TEST_CASE("ranges of a large file within, across and past its first 4 KiB have its bytes, also after a rewrite", "[transfer]") {
    // The first bytes of a file served from a descriptor are kept with it, so the loaders' probe needs no read: they
    // must be the file's bytes, and the new file's once it is rewritten in place.
    TempDir root;
    std::string shard = random_bytes(300000, 11);
    root.write("m/model.onnx", shard);
    TestServer s(root.path(), "{" + cors_list + "}");
    auto ranged = [&](const std::string& range) {
        auto r = request(s.port(), "GET", "/m/model.onnx", "Range: bytes=" + range + "\r\n");
        CHECK(r.result_int() == 206);
        return std::string(r.body());
    };
    CHECK(ranged("0-0") == shard.substr(0, 1));
    CHECK(ranged("4095-4095") == shard.substr(4095, 1));
    CHECK(ranged("4000-4199") == shard.substr(4000, 200));
    CHECK(ranged("250000-250009") == shard.substr(250000, 10));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    shard = random_bytes(300000, 12);
    {
        std::ofstream rewrite(root.path() / "m/model.onnx", std::ios::binary | std::ios::in | std::ios::out);  // same inode
        rewrite.write(shard.data(), static_cast<std::streamsize>(shard.size()));
    }
    CHECK(ranged("0-7") == shard.substr(0, 8));
}

TEST_CASE("ranges: 206 with Content-Range, 416 for unsatisfiable, If-Range, several ranges served whole", "[transfer]") {
    TempDir root;
    const std::string shard = random_bytes(10000, 7);
    root.write("m/group1-shard1of1.bin", shard);
    TestServer s(root.path(), "{" + cors_list + "}");
    const std::string origin = "Origin: http://localhost:5173\r\n";

    auto part = request(s.port(), "GET", "/m/group1-shard1of1.bin", origin + "Range: bytes=100-199\r\n");
    CHECK(part.result_int() == 206);
    CHECK(part[bhttp::field::content_range] == "bytes 100-199/10000");
    CHECK(part.body() == shard.substr(100, 100));
    CHECK(part[bhttp::field::access_control_allow_origin] == "http://localhost:5173");
    auto suffix = request(s.port(), "GET", "/m/group1-shard1of1.bin", "Range: bytes=-10\r\n");
    CHECK(suffix.body() == shard.substr(9990));

    auto bad = request(s.port(), "GET", "/m/group1-shard1of1.bin", origin + "Range: bytes=20000-\r\n");
    CHECK(bad.result_int() == 416);
    CHECK(bad[bhttp::field::content_range] == "bytes */10000");
    CHECK(bad[bhttp::field::access_control_allow_origin] == "http://localhost:5173");

    std::string etag(part[bhttp::field::etag]);
    auto if_range = request(s.port(), "GET", "/m/group1-shard1of1.bin", "Range: bytes=0-9\r\nIf-Range: " + etag + "\r\n");
    CHECK(if_range.result_int() == 206);
    auto stale = request(s.port(), "GET", "/m/group1-shard1of1.bin", "Range: bytes=0-9\r\nIf-Range: \"old\"\r\n");
    CHECK(stale.result_int() == 200);
    CHECK(stale.body() == shard);
    auto several = request(s.port(), "GET", "/m/group1-shard1of1.bin", "Range: bytes=0-9,20-29\r\n");
    CHECK(several.result_int() == 200);
    CHECK(several.body() == shard);
    auto malformed = request(s.port(), "GET", "/m/group1-shard1of1.bin", "Range: bytes=9-1\r\n");
    CHECK(malformed.result_int() == 200);
    auto head = request(s.port(), "HEAD", "/m/group1-shard1of1.bin", "Range: bytes=0-9\r\n");
    CHECK(head.result_int() == 200);
}

TEST_CASE("sidecars are chosen by Accept-Encoding, each coding with its own ETag, stale ones ignored", "[transfer]") {
    TempDir root;
    root.write("m/model.json", model_json);
    root.write("m/model.json.br", "BROTLI-BYTES");
    root.write("m/model.json.gz", "GZIP-SIDECAR");
    TestServer s(root.path(), "{" + cors_list + "}");
    const std::string origin = "Origin: http://localhost:5173\r\n";

    auto br = request(s.port(), "GET", "/m/model.json", origin + "Accept-Encoding: gzip, deflate, br\r\n");
    CHECK(br[bhttp::field::content_encoding] == "br");
    CHECK(br.body() == "BROTLI-BYTES");
    CHECK(br[bhttp::field::content_type] == "application/json");
    CHECK(vary(br) == std::vector<std::string>{"Accept-Encoding", "Origin"});
    CHECK(br.count(bhttp::field::vary) == 1);
    auto gz = request(s.port(), "GET", "/m/model.json", "Accept-Encoding: gzip\r\n");
    CHECK(gz[bhttp::field::content_encoding] == "gzip");
    CHECK(gz.body() == "GZIP-SIDECAR");
    auto plain = request(s.port(), "GET", "/m/model.json");
    CHECK(plain.find(bhttp::field::content_encoding) == plain.end());
    CHECK(plain.body() == model_json);
    CHECK(vary(plain) == std::vector<std::string>{"Accept-Encoding", "Origin"});
    std::set<std::string> etags{std::string(br[bhttp::field::etag]), std::string(gz[bhttp::field::etag]),
                                std::string(plain[bhttp::field::etag])};
    CHECK(etags.size() == 3);
    // A client holding the br version revalidates it; one holding identity does not get br's 304.
    CHECK(request(s.port(), "GET", "/m/model.json", "Accept-Encoding: br\r\nIf-None-Match: " +
                                                      std::string(br[bhttp::field::etag]) + "\r\n").result_int() == 304);
    CHECK(request(s.port(), "GET", "/m/model.json", "Accept-Encoding: br\r\nIf-None-Match: " +
                                                      std::string(plain[bhttp::field::etag]) + "\r\n").result_int() == 200);
    // Ranges are served from the identity bytes, whatever the client accepts.
    auto ranged = request(s.port(), "GET", "/m/model.json", "Accept-Encoding: br\r\nRange: bytes=0-9\r\n");
    CHECK(ranged.result_int() == 206);
    CHECK(ranged.body() == model_json.substr(0, 10));
    CHECK(ranged.find(bhttp::field::content_encoding) == ranged.end());

    // Sidecars older than the file are stale: on-the-fly gzip of the real file takes over.
    auto past = std::filesystem::last_write_time(root.path() / "m/model.json") - std::chrono::hours(1);
    std::filesystem::last_write_time(root.path() / "m/model.json.br", past);
    std::filesystem::last_write_time(root.path() / "m/model.json.gz", past);
    auto fresh = request(s.port(), "GET", "/m/model.json", "Accept-Encoding: gzip, br\r\n");
    CHECK(fresh[bhttp::field::content_encoding] == "gzip");
    CHECK(gunzip(fresh.body()) == model_json);
}

TEST_CASE("on-the-fly gzip is cached per file version: a replaced file is never served stale", "[transfer]") {
    TempDir root;
    root.write("m/model.json", model_json);
    root.write("m/shard.bin", random_bytes(5000, 1));
    TestServer s(root.path());
    auto a = request(s.port(), "GET", "/m/model.json", "Accept-Encoding: gzip\r\n");
    CHECK(a[bhttp::field::content_encoding] == "gzip");
    CHECK(gunzip(a.body()) == model_json);
    CHECK(a.body().size() < model_json.size());
    CHECK(request(s.port(), "GET", "/m/model.json", "Accept-Encoding: gzip\r\n").body() == a.body());

    const std::string v2 = model_json + "{\"v\":2}";
    replace_atomically(root, "m/model.json", v2);
    auto b = request(s.port(), "GET", "/m/model.json", "Accept-Encoding: gzip\r\n");
    CHECK(gunzip(b.body()) == v2);
    CHECK(b[bhttp::field::etag] != a[bhttp::field::etag]);
    auto plain = request(s.port(), "GET", "/m/model.json");
    CHECK(plain.body() == v2);

    // Weight shards are not compressible: no gzip, no Vary.
    auto shard = request(s.port(), "GET", "/m/shard.bin", "Accept-Encoding: gzip, br\r\n");
    CHECK(shard.find(bhttp::field::content_encoding) == shard.end());
    CHECK(shard.find(bhttp::field::vary) == shard.end());
}

TEST_CASE("a file rewritten in place with the same size gets a new ETag", "[transfer]") {
    TempDir root;
    root.write("w.bin", std::string(100, 'a'));
    TestServer s(root.path());
    auto a = request(s.port(), "GET", "/w.bin");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    root.write("w.bin", std::string(100, 'b'));
    auto b = request(s.port(), "GET", "/w.bin");
    CHECK(b.body() == std::string(100, 'b'));
    CHECK(a[bhttp::field::etag] != b[bhttp::field::etag]);
    CHECK(request(s.port(), "GET", "/w.bin", "If-None-Match: " + std::string(a[bhttp::field::etag]) + "\r\n").result_int() == 200);
}

TEST_CASE("the sendfile and the buffered-write paths deliver 0-byte, 1-byte, 4 MB and ranged bodies byte for byte",
          "[transfer][sendfile]") {
    // sendfile_min_bytes 0: every file body by sendfile(2); 2^40: every one read in chunks and written. One thread
    // (no strand) and two (strands) both.
    const std::string config = GENERATE(as<std::string>{}, R"({"server": {"sendfile_min_bytes": 0}})",
                                        R"({"server": {"sendfile_min_bytes": 0, "threads": 1}})",
                                        R"({"server": {"sendfile_min_bytes": 1099511627776, "threads": 1}})");
    CAPTURE(config);
    TempDir root;
    const std::string four_mb = random_bytes(4 << 20, 42);
    root.write("empty.bin", "");
    root.write("one.bin", "x");
    root.write("four.bin", four_mb);
    TestServer s(root.path(), config);
    CHECK(request(s.port(), "GET", "/empty.bin").body().empty());
    CHECK(request(s.port(), "GET", "/empty.bin")[bhttp::field::content_length] == "0");
    CHECK(request(s.port(), "GET", "/one.bin").body() == "x");
    CHECK(request(s.port(), "GET", "/four.bin").body() == four_mb);
    CHECK(request(s.port(), "GET", "/four.bin", "Range: bytes=1000000-1999999\r\n").body() == four_mb.substr(1000000, 1000000));
    Client c(s.port());  // keep-alive across sendfile bodies: framing stays exact
    for (int i = 0; i < 3; ++i) {
        c.send("GET /four.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(c.read().body() == four_mb);
        CHECK(c.read().body() == "x");
    }
}

TEST_CASE("a file over 1 GiB is delivered byte for byte through sendfile", "[transfer][sendfile][slow]") {
    TempDir root;
    const std::uint64_t size = (1ull << 30) + 4099;
    auto path = root.path() / "huge.bin";
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    const std::string head = random_bytes(65536, 3), tail = random_bytes(4099, 4);
    REQUIRE(::pwrite(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()));
    REQUIRE(::pwrite(fd, tail.data(), tail.size(), static_cast<off_t>(size - tail.size())) == static_cast<ssize_t>(tail.size()));
    ::close(fd);
    TestServer s(root.path());

    Client c(s.port(), 120);
    c.send("GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string got_head, got_tail;
    std::uint64_t body = 0, nonzero_middle = 0;
    std::string header;
    c.stream_to_eof([&](const char* p, std::size_t n) {
        std::size_t i = 0;
        if (header.empty() || header.find("\r\n\r\n") == std::string::npos) {
            for (; i < n && header.find("\r\n\r\n") == std::string::npos; ++i) header += p[i];
        }
        for (; i < n; ++i, ++body) {
            if (body < head.size()) got_head += p[i];
            else if (body >= size - tail.size()) got_tail += p[i];
            else if (p[i] != 0) ++nonzero_middle;
        }
    });
    CHECK_THAT(header, Catch::Contains("Content-Length: " + std::to_string(size)));
    CHECK(body == size);
    CHECK(got_head == head);
    CHECK(got_tail == tail);
    CHECK(nonzero_middle == 0);
}

TEST_CASE("a client that disconnects in the middle of a sendfile body does not take the server down", "[transfer][sendfile]") {
    TempDir root;
    root.write("big.bin", random_bytes(8 << 20, 5));
    root.write("small.txt", "still here");
    TestServer s(root.path(), R"({"server": {"sendfile_min_bytes": 0}})");
    for (int i = 0; i < 5; ++i) {
        Client c(s.port());
        c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        char buf[4096];
        ::recv(c.native_handle(), buf, sizeof buf, 0);  // take a little, then hang up with the rest unread
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(request(s.port(), "GET", "/small.txt").body() == "still here");
}

TEST_CASE("a small hot file served from memory follows every replacement and rewrite", "[transfer]") {
    TempDir root;
    root.write("hot.json", "{\"v\":0}");
    TestServer s(root.path());
    std::set<std::string> etags;
    for (int i = 1; i <= 20; ++i) {
        const std::string v = "{\"v\":" + std::to_string(i) + "}" + std::string(static_cast<std::size_t>(i % 3), ' ');
        if (i % 2) replace_atomically(root, "hot.json", v);
        else root.write("hot.json", v);  // in place, sometimes with the same size as before
        auto r = request(s.port(), "GET", "/hot.json");
        REQUIRE(r.body() == v);
        etags.insert(std::string(r[bhttp::field::etag]));
        CHECK(request(s.port(), "GET", "/hot.json", "Range: bytes=0-3\r\n").body() == v.substr(0, 4));
    }
    CHECK(etags.size() == 20);
    std::filesystem::remove(root.path() / "hot.json");
    CHECK(request(s.port(), "GET", "/hot.json").result_int() == 404);
}

TEST_CASE("a large file kept open between requests follows every replacement and rewrite", "[transfer]") {
    TempDir root;
    TestServer s(root.path());
    std::set<std::string> etags;
    CHECK(request(s.port(), "GET", "/big.bin").result_int() == 404);  // remembered as missing, then created
    for (int i = 1; i <= 10; ++i) {
        const std::string v = std::string(100000 + static_cast<std::size_t>(i % 2), static_cast<char>('a' + i));
        if (i % 2) replace_atomically(root, "big.bin", v);
        else root.write("big.bin", v);  // in place
        Client c(s.port());  // one keep-alive connection: the second request may reuse the open descriptor
        c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=99990-\r\n\r\n");
        auto whole = c.read();
        REQUIRE(whole.body() == v);
        etags.insert(std::string(whole[bhttp::field::etag]));
        auto tail = c.read();
        CHECK(tail.result_int() == 206);
        CHECK(tail.body() == v.substr(99990));
        CHECK(tail[bhttp::field::etag] == whole[bhttp::field::etag]);
    }
    CHECK(etags.size() == 10);
    std::filesystem::remove(root.path() / "big.bin");
    CHECK(request(s.port(), "GET", "/big.bin").result_int() == 404);
}

TEST_CASE("over TLS, bodies of many records arrive whole, on one connection, ranges included", "[transfer][tls]") {
    TestPki pki;
    TempDir root;
    std::string big(300001, '\0');
    std::mt19937 rng(7);
    for (auto& c : big) c = static_cast<char>(rng());
    root.write("big.bin", big);  // an open descriptor, sent in 64 KiB reads of about four TLS records each
    root.write("small.json", "{\"tls\": true}");
    TestServer s(root.path(), R"({"tls": {"cert_file": ")" + pki.path("server.pem") + R"(", "key_file": ")" + pki.path("server.key") + R"("}})");
    const std::string base = "https://127.0.0.1:" + std::to_string(s.port());
    auto out = [&](const char* name) { return (root.path() / name).string(); };
    // One curl, one connection: the big file twice (the second from the remembered descriptor), a range, a small file.
    const std::vector<std::string> common{"-sS", "--fail", "--max-time", "20", "--cacert", pki.path("ca.pem"), "-w", "%{num_connects} "};
    std::vector<std::string> argv{"/usr/bin/curl"};
    for (const auto& part : std::vector<std::vector<std::string>>{
             {base + "/big.bin", "-o", out("got1"), base + "/big.bin", "-o", out("got2")},
             {"-r", "299990-", base + "/big.bin", "-o", out("tail")},
             {base + "/small.json", "-o", out("small")}}) {
        if (argv.size() > 1) argv.push_back("--next");
        argv.insert(argv.end(), common.begin(), common.end());
        argv.insert(argv.end(), part.begin(), part.end());
    }
    auto [code, log] = run_command(argv);
    INFO(log);
    REQUIRE(code == 0);
    auto slurp = [](const std::string& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    CHECK(slurp(out("got1")) == big);
    CHECK(slurp(out("got2")) == big);
    CHECK(slurp(out("tail")) == big.substr(299990));
    CHECK(slurp(out("small")) == "{\"tls\": true}");
    CHECK_THAT(log, Catch::StartsWith("1 0 0 0"));  // one connection made, then reused
}

TEST_CASE("two origins serving the same file with the same mtime give the same ETag, so either answers 304 for the other's", "[transfer][origins]") {
    TempDir a, b;
    const std::string json = R"({"format": "graph-model", "weightsManifest": [)" + std::string(2000, ' ') + "]}";
    auto pa = a.write("m/model.json", json);
    auto pb = b.write("m/model.json", json);  // another inode, on another "origin"
    std::filesystem::last_write_time(pb, std::filesystem::last_write_time(pa));  // copied with its mtime (rsync -t, cp -p)
    TestServer one(a.path()), two(b.path());
    for (const std::string accept : {"", "Accept-Encoding: gzip\r\n"}) {
        INFO(accept);
        auto first = request(one.port(), "GET", "/m/model.json", accept);
        REQUIRE(first.result_int() == 200);
        const std::string etag(first[bhttp::field::etag]);
        auto other = request(two.port(), "GET", "/m/model.json", accept);
        CHECK(std::string(other[bhttp::field::etag]) == etag);
        auto revalidated = request(two.port(), "GET", "/m/model.json", accept + "If-None-Match: " + etag + "\r\n");
        CHECK(revalidated.result_int() == 304);
    }
    // Another mtime is another version: no false match.
    std::filesystem::last_write_time(pb, std::filesystem::last_write_time(pa) + std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the next event-loop pass sees the change
    auto etag = std::string(request(one.port(), "GET", "/m/model.json")[bhttp::field::etag]);
    CHECK(request(two.port(), "GET", "/m/model.json", "If-None-Match: " + etag + "\r\n").result_int() == 200);
}

TEST_CASE("with server.etag content, the same bytes under different mtimes give one ETag, other bytes another", "[transfer][origins]") {
    TempDir a, b;
    const std::string json = R"({"format": "graph-model", "weightsManifest": [)" + std::string(2000, ' ') + "]}";
    const std::string shard(200000, '\x07');  // larger than the small-file cache: hashed from the descriptor
    a.write("m/model.json", json);
    a.write("m/w.bin", shard);
    auto pb = b.write("m/model.json", json);
    auto sb = b.write("m/w.bin", shard);
    std::filesystem::last_write_time(pb, std::filesystem::last_write_time(pb) - std::chrono::hours(5));  // copied without mtimes
    std::filesystem::last_write_time(sb, std::filesystem::last_write_time(sb) - std::chrono::hours(5));
    const std::string content = R"({"server": {"etag": "content"}})";
    TestServer one(a.path(), content), two(b.path(), content), plain(b.path());
    for (const std::string path : {"/m/model.json", "/m/w.bin"}) {
        for (const std::string accept : {"", "Accept-Encoding: gzip\r\n"}) {
            INFO(path << " " << accept);
            const std::string etag(request(one.port(), "GET", path, accept)[bhttp::field::etag]);
            CHECK(std::string(request(two.port(), "GET", path, accept)[bhttp::field::etag]) == etag);
            CHECK(request(two.port(), "GET", path, accept + "If-None-Match: " + etag + "\r\n").result_int() == 304);
            CHECK(request(plain.port(), "GET", path, accept + "If-None-Match: " + etag + "\r\n").result_int() == 200);  // mtime mode differs
        }
    }
    // Other bytes of the same size: another ETag, and the old one no longer matches.
    const std::string before(request(two.port(), "GET", "/m/w.bin")[bhttp::field::etag]);
    b.write("m/w.bin", std::string(200000, '\x08'));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the next event-loop pass sees the change
    auto after = request(two.port(), "GET", "/m/w.bin", "If-None-Match: " + before + "\r\n");
    CHECK(after.result_int() == 200);
    CHECK(std::string(after[bhttp::field::etag]) != before);
    CHECK(std::string(after[bhttp::field::etag]).size() == 34);  // 128 bits in hex, quoted
}
