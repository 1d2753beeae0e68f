// modelhost fetch: mirrors a model between servers byte for byte, over HTTP, redirects and HTTPS; failures install
// nothing and leave an existing model untouched.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "tools/fetch.hpp"

#include <boost/asio/ssl/context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <fstream>
#include <map>
#include <sstream>

using namespace modelhost::test;
namespace asio = boost::asio;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;

const std::string not_found = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

std::string ok(const std::string& body) { return canned_ok(body); }

const std::string manifest = R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":["group1-shard1of2.bin","group1-shard2of2.bin"],"weights":[{"name":"k","shape":[300],"dtype":"float32"}]}]})";

std::vector<std::string> leftovers(const fsys::path& root) {
    std::vector<std::string> out;
    for (const auto& e : fsys::directory_iterator(root))
        if (e.path().filename().string().starts_with(".")) out.push_back(e.path().filename().string());
    return out;
}

}  // namespace

TEST_CASE("a tfhub-style URL becomes the model.json URL TF.js derives", "[fetch]") {
    using modelhost::tools::model_json_url;
    CHECK(model_json_url("https://tfhub.dev/mediapipe/tfjs-model/face_landmarks_detection/face_mesh/1") ==
          "https://tfhub.dev/mediapipe/tfjs-model/face_landmarks_detection/face_mesh/1/model.json?tfjs-format=file");
    CHECK(model_json_url("https://tfhub.dev/mediapipe/tfjs-model/face_detection/short/1/") ==
          "https://tfhub.dev/mediapipe/tfjs-model/face_detection/short/1/model.json?tfjs-format=file");
    CHECK(model_json_url("http://h/face/model.json") == "http://h/face/model.json");
    CHECK(model_json_url("http://h/face/model.json?v=2") == "http://h/face/model.json?v=2");
}

TEST_CASE("the default folder is the URL's last folder with its version folders", "[fetch]") {
    using modelhost::tools::default_name;
    CHECK(default_name("https://cdn.example/models/face_mesh/v3/model.json") == "face_mesh/v3");
    CHECK(default_name("https://tfhub.dev/mediapipe/tfjs-model/face_landmarks_detection/face_mesh/1/model.json?tfjs-format=file") ==
          "face_mesh/1");
    CHECK(default_name("https://cdn.example/blazeface/2.1.0/model.json") == "blazeface/2.1.0");
    CHECK(default_name("https://cdn.example/models/face_mesh/model.json") == "face_mesh");
    CHECK(default_name("https://cdn.example/v2/model.json") == "model/v2");
    CHECK(default_name("https://cdn.example/model.json") == "model");
    CHECK(default_name("https://cdn.example/models/version2/model.json") == "version2");  // a name, not a version
}

TEST_CASE("fetching the real face mesh model from one modelhost into another root is byte-identical and checks ok", "[fetch]") {
    const fsys::path assets = fsys::path(MODELHOST_SOURCE_DIR) / "tests/browser/assets/models";
    REQUIRE(fsys::exists(assets / "face_mesh/model.json"));  // unpacked by tests/browser/setup.sh
    TestServer source(assets);
    TempDir dest;
    const std::string base = "http://127.0.0.1:" + std::to_string(source.port());
    auto [code, out] = run_command({binary, "fetch", base + "/face_mesh/model.json", "--root", (dest.path() / "new/root").string()});
    INFO(out);
    REQUIRE(code == 0);
    CHECK_THAT(out, Catch::Contains("created --root " + (dest.path() / "new/root").string()));
    CHECK(read_file(dest.path() / "new/root/face_mesh/model.json") == read_file(assets / "face_mesh/model.json"));
    std::tie(code, out) = run_command({binary, "fetch", base + "/face_mesh/model.json", "--root", dest.path().string()});
    REQUIRE(code == 0);
    CHECK(read_file(dest.path() / "face_mesh/facemesh.bin") == read_file(assets / "face_mesh/facemesh.bin"));
    CHECK(read_file(dest.path() / "face_mesh/model.json") == read_file(assets / "face_mesh/model.json"));
    auto [check, table] = run_command({binary, "check", dest.path().string()});
    CHECK(check == 0);
    CHECK(leftovers(dest.path()).empty());

    // A tfhub-style URL (no model.json) works too, and an existing model is kept unless --force.
    auto [again, exists] = run_command({binary, "fetch", base + "/face_detection_short", "--root", dest.path().string(), "--name", "face_mesh"});
    CHECK(again == 1);
    CHECK_THAT(exists, Catch::Contains("already exists; pass --force"));
    auto [forced, _] = run_command({binary, "fetch", base + "/face_detection_short", "--root", dest.path().string(), "--name", "face_mesh", "--force"});
    CHECK(forced == 0);
    CHECK(read_file(dest.path() / "face_mesh/model.json") == read_file(assets / "face_detection_short/model.json"));
    CHECK_FALSE(fsys::exists(dest.path() / "face_mesh/facemesh.bin"));  // replaced whole, not merged
    CHECK(leftovers(dest.path()).empty());
}

TEST_CASE("fetch follows redirects to the model and its shards", "[fetch]") {
    TempDir src;
    src.write("m/model.json", manifest);
    src.write("m/group1-shard1of2.bin", std::string(1000, '\x01'));
    src.write("m/group1-shard2of2.bin", std::string(200, '\x02'));
    TestServer target(src.path());
    const std::string t = "http://127.0.0.1:" + std::to_string(target.port());
    auto redirect = [](const std::string& to) { return "HTTP/1.1 302 Found\r\nLocation: " + to + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"; };
    CannedServer hub({{"/m/model.json", redirect(t + "/m/model.json")},
                      {"/m/group1-shard1of2.bin", redirect(t + "/m/group1-shard1of2.bin")},
                      {"/m/group1-shard2of2.bin", redirect(t + "/m/group1-shard2of2.bin")}}, not_found);
    TempDir dest;
    auto [code, out] = run_command({binary, "fetch", hub.base() + "/m/model.json", "--root", dest.path().string(), "--name", "mirrored"});
    INFO(out);
    CHECK(code == 0);
    CHECK(read_file(dest.path() / "mirrored/group1-shard1of2.bin") == std::string(1000, '\x01'));
}

TEST_CASE("a shard cut short or a dropped connection fails the fetch, installs nothing and keeps the old model", "[fetch]") {
    CannedServer cut({{"/m/model.json", ok(manifest)},
                      {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                      {"/m/group1-shard2of2.bin", "HTTP/1.1 200 OK\r\nContent-Length: 200\r\nConnection: close\r\n\r\n" + std::string(50, '\x02')}},
                     not_found);
    CannedServer small({{"/m/model.json", ok(manifest)},
                        {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                        {"/m/group1-shard2of2.bin", ok(std::string(50, '\x02'))}},  // complete response, short file
                       not_found);
    TempDir dest;
    dest.write("m/model.json", "the good old model");
    for (const std::string& base : std::vector<std::string>{cut.base(), small.base()}) {
        INFO(base);
        auto [code, out] = run_command({binary, "fetch", base + "/m/model.json", "--root", dest.path().string(), "--force"});
        CHECK(code == 1);
        CHECK(read_file(dest.path() / "m/model.json") == "the good old model");
        if (base == small.base()) {  // wrong bytes: nothing is kept
            CHECK_THAT(out, Catch::Contains("holds 50 bytes, the manifest needs 200"));
            CHECK(leftovers(dest.path()).empty());
        } else {  // the network failed: the good bytes wait, hidden, for the next run
            CHECK_THAT(out, Catch::Contains("closed before the whole body arrived"));
            CHECK_THAT(out, Catch::Contains("run the same command again to continue"));
            CHECK(leftovers(dest.path()) == std::vector<std::string>{".fetch-partial-m"});
            fsys::remove_all(dest.path() / ".fetch-partial-m");
        }
    }
    auto [refused, why] = run_command({binary, "fetch", "http://127.0.0.1:1/m/model.json", "--root", dest.path().string(), "--name", "x"});
    CHECK(leftovers(dest.path()).empty());  // no byte arrived: no work folder kept
    CHECK(refused == 1);
    CHECK_FALSE(fsys::exists(dest.path() / "x"));
}

namespace {

// An upstream whose shard 1 honours Range and If-Range (for the ETag of its current version) and can be told to cut
// every answer after 300 body bytes, or to answer a range with the wrong Content-Range.
struct ResumableUpstream {
    // Made whole before the server (the last member) starts answering on its own thread.
    std::string body = first_version(), etag = "\"v1\"";
    std::atomic<bool> cutting{false}, lying{false};
    std::mutex lock;
    CannedServer server{[this](const std::string& head) { return answer(head); }};

    static std::string first_version() {
        std::string bytes(1000, '\0');
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
        return bytes;
    }
    void replace(const std::string& bytes, const std::string& tag) {
        std::lock_guard g(lock);
        body = bytes;
        etag = tag;
    }
    std::string answer(const std::string& head) {
        if (head.starts_with("GET /m/model.json")) return ok(manifest);
        if (head.starts_with("GET /m/group1-shard2of2.bin")) return ok(std::string(200, '\x02'));
        std::lock_guard g(lock);
        std::size_t from = 0;
        auto range = head.find("\r\nRange: bytes=");
        if (range != std::string::npos && head.find("\r\nIf-Range: " + etag + "\r\n") != std::string::npos)
            from = std::stoul(head.substr(range + 15));
        std::string status = from ? "206 Partial Content" : "200 OK";
        std::string extra = from ? "Content-Range: bytes " + std::to_string(lying ? 0 : from) + "-999/1000\r\n" : "";
        std::string answer = "HTTP/1.1 " + status + "\r\nETag: " + etag + "\r\n" + extra + "Content-Length: " +
                             std::to_string(body.size() - from) + "\r\nConnection: close\r\n\r\n" + body.substr(from);
        return cutting ? answer.substr(0, answer.find("\r\n\r\n") + 4 + 300) : answer;
    }
    std::size_t count(const std::string& needle) {
        auto heads = server.heads();
        return std::count_if(heads.begin(), heads.end(), [&](const std::string& h) { return h.find(needle) != std::string::npos; });
    }
};

}  // namespace

TEST_CASE("an interrupted fetch resumes with Range and If-Range, within a run and in the next run", "[fetch]") {
    ResumableUpstream up;
    TempDir dest;
    const std::vector<std::string> fetch = {binary, "fetch", up.server.base() + "/m/model.json", "--root", dest.path().string()};
    const fsys::path part = dest.path() / ".fetch-partial-m/group1-shard1of2.bin.part";
    up.cutting = true;
    auto [cut, cut_out] = run_command(fetch);
    INFO(cut_out);
    CHECK(cut == 1);
    // Three attempts, each cut after 300 bytes, each asking only for what is missing.
    CHECK(up.count("Range: bytes=300-\r\nIf-Range: \"v1\"") == 1);
    CHECK(up.count("Range: bytes=600-\r\nIf-Range: \"v1\"") == 1);
    CHECK(fsys::file_size(part) == 900);
    CHECK_FALSE(fsys::exists(dest.path() / "m"));
    CHECK_THAT(cut_out, Catch::Contains("run the same command again to continue"));

    up.lying = true;  // a 206 for other bytes than asked for is refused before a byte is written
    up.cutting = false;
    auto [lied, lied_out] = run_command(fetch);
    CHECK(lied == 1);
    CHECK_THAT(lied_out, Catch::Contains("asked for bytes 900- and got a 206 with Content-Range \"bytes 0-999/1000\""));
    CHECK(fsys::file_size(part) == 900);

    up.lying = false;
    auto [resumed, resumed_out] = run_command(fetch);
    INFO(resumed_out);
    CHECK(resumed == 0);
    CHECK_THAT(resumed_out, Catch::Contains("resuming " + up.server.base() + "/m/group1-shard1of2.bin at byte 900"));
    CHECK(up.count("Range: bytes=900-\r\nIf-Range: \"v1\"") == 4);  // three refused 206s, one accepted
    CHECK(up.count("GET /m/group1-shard2of2.bin") == 1);            // kept whole from the first run
    CHECK(read_file(dest.path() / "m/group1-shard1of2.bin") == up.body);
    CHECK(leftovers(dest.path()).empty());
}

TEST_CASE("a resumed fetch of a file that changed meanwhile gets the new file whole, never a mix", "[fetch]") {
    ResumableUpstream up;
    TempDir dest;
    const std::vector<std::string> fetch = {binary, "fetch", up.server.base() + "/m/model.json", "--root", dest.path().string()};
    up.cutting = true;
    CHECK(run_command(fetch).first == 1);
    up.cutting = false;
    up.replace(std::string(1000, 'n'), "\"v2\"");
    auto [code, out] = run_command(fetch);
    INFO(out);
    CHECK(code == 0);
    CHECK(up.count("If-Range: \"v1\"") == 3);  // asked with the old validator; answered 200 with all the new bytes
    CHECK(read_file(dest.path() / "m/group1-shard1of2.bin") == std::string(1000, 'n'));
}

TEST_CASE("fetch over HTTPS trusts a private CA given with --ca-file and refuses an unknown one", "[fetch][tls]") {
    TestPki pki;
    auto ctx = pki.server_context();
    CannedServer https({{"/m/model.json", ok(manifest)},
                        {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                        {"/m/group1-shard2of2.bin", ok(std::string(200, '\x02'))}}, not_found, &ctx);
    TempDir dest;
    auto [code, out] = run_command({binary, "fetch", https.base() + "/m/model.json", "--root", dest.path().string(),
                                    "--ca-file", pki.path("ca.pem")});
    INFO(out);
    CHECK(code == 0);
    CHECK(read_file(dest.path() / "m/group1-shard2of2.bin") == std::string(200, '\x02'));
    auto [bad, why] = run_command({binary, "fetch", https.base() + "/m/model.json", "--root", dest.path().string(), "--name", "other"});
    CHECK(bad == 1);
    CHECK_THAT(why, Catch::Contains("certificate verify failed"));
    CHECK_FALSE(fsys::exists(dest.path() / "other"));
}

TEST_CASE("fetch from a local modelhost serving HTTPS with a throwaway CA, and doctor over it", "[fetch][tls]") {
    TestPki pki;
    TempDir src;
    src.write("m/model.json", manifest);
    src.write("m/group1-shard1of2.bin", std::string(1000, '\x01'));
    src.write("m/group1-shard2of2.bin", std::string(200, '\x02'));
    TestServer https(src.path(), R"({"tls": {"cert_file": ")" + pki.path("server.pem") + R"(", "key_file": ")" +
                                     pki.path("server.key") + R"("}, "cors": {"allow_origins": ["https://app.example"]}})");
    const std::string url = "https://127.0.0.1:" + std::to_string(https.port()) + "/m/model.json";
    TempDir dest;
    auto [code, out] = run_command({binary, "fetch", url, "--root", dest.path().string(), "--ca-file", pki.path("ca.pem")});
    INFO(out);
    CHECK(code == 0);
    CHECK(read_file(dest.path() / "m/group1-shard1of2.bin") == std::string(1000, '\x01'));
    CHECK(read_file(dest.path() / "m/group1-shard2of2.bin") == std::string(200, '\x02'));
    auto [wrong, why] = run_command({binary, "fetch", url, "--root", dest.path().string(), "--name", "x", "--ca-file", pki.path("other.pem")});
    CHECK(wrong == 1);
    CHECK_THAT(why, Catch::Contains("certificate verify failed"));
    auto [doc, report] = run_command({binary, "doctor", url, "--origin", "https://app.example", "--ca-file", pki.path("ca.pem")});
    CHECK(doc == 0);
    CHECK_THAT(report, Catch::Contains("PASS https://127.0.0.1:" + std::to_string(https.port()) + "/m/group1-shard2of2.bin"));
}

TEST_CASE("a hostile manifest naming absolute, .., encoded-escape or active-content paths writes nothing anywhere", "[fetch][hardening]") {
    TempDir work;  // root/ is the fetch root; everything else in work/ must stay untouched
    fsys::create_directories(work.path() / "root");
    const auto outside = work.path() / "outside-target";
    const std::vector<std::string> hostile = {
        outside.string(),                     // absolute
        "../../outside-target",               // dot-dot
        "a/../../../outside-target",          // dot-dot after a segment
        "%2e%2e/%2e%2e/outside-target",       // encoded dot-dot
        "..%2f..%2foutside-target",           // encoded slash
        "sub\\..\\..\\outside-target",        // backslashes
        ".htaccess",                          // hidden
        "shard.html",                         // active content
        "shard.svg",
        "C:/outside-target",                  // a drive letter
        "//evil.example/outside-target",      // another origin
        std::string("shard\0.bin", 10),       // NUL
    };
    for (const auto& path : hostile) {
        INFO(path);
        nlohmann::json m = {{"format", "graph-model"}, {"modelTopology", {{"node", nlohmann::json::array()}}},
                            {"weightsManifest", {{{"paths", {"group1-shard1of1.bin", path}}, {"weights", nlohmann::json::array()}}}}};
        CannedServer server({{"/m/model.json", ok(m.dump())}}, ok("upstream says hello"));
        auto [code, out] = run_command({binary, "fetch", server.base() + "/m/model.json", "--root", (work.path() / "root").string()});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("refusing shard path"));
        CHECK(server.targets().size() == 1);  // only model.json was ever requested
        std::vector<std::string> entries;
        for (const auto& e : fsys::recursive_directory_iterator(work.path())) entries.push_back(e.path().lexically_relative(work.path()).string());
        CHECK(entries == std::vector<std::string>{"root"});
    }
}

TEST_CASE("a shard longer than its group declares is cut at declared + 1 bytes and fails the fetch", "[fetch][hardening]") {
    const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    CannedServer endless({{"/m/model.json", ok(manifest)},  // the group declares 300 float32 = 1200 bytes
                          {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                          {"/m/group1-shard2of2.bin", canned_endless(chunked_head, "1000\r\n" + std::string(4096, 'x') + "\r\n")}},
                         not_found);
    CannedServer declared_big({{"/m/model.json", ok(manifest)},
                               {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                               {"/m/group1-shard2of2.bin", "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n"}},
                              not_found);
    TempDir dest;
    for (auto* server : {&endless, &declared_big}) {
        auto [code, out] = run_command({binary, "fetch", server->base() + "/m/model.json", "--root", dest.path().string()});
        CHECK(code == 1);
        CHECK_THAT(out, Catch::Contains("sends more than the 1200 bytes allowed for it"));
        CHECK(fsys::is_empty(dest.path()));
    }
}

TEST_CASE("a server that drips its body is cut off by --timeout", "[fetch][hardening]") {
    CannedServer drip({{"/m/model.json", canned_endless("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", "{", 200)}}, not_found);
    TempDir dest;
    auto start = std::chrono::steady_clock::now();
    auto [code, out] = run_command({binary, "fetch", drip.base() + "/m/model.json", "--root", dest.path().string(), "--timeout", "1.5"});
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("time limit"));
    CHECK(took < std::chrono::seconds(15));
    CHECK(fsys::is_empty(dest.path()));
    CHECK(run_command({binary, "fetch", drip.base() + "/m/model.json", "--concurrency", "0"}).first == 2);
    CHECK(run_command({binary, "fetch", drip.base() + "/m/model.json", "--timeout", "soon"}).first == 2);
}

TEST_CASE("a second fetch of the same name while one runs is refused and touches nothing", "[fetch]") {
    CannedServer drip({{"/m/model.json", canned_endless("HTTP/1.1 200 OK\r\nETag: \"d\"\r\nContent-Length: 100000\r\n\r\n", "{", 50)}}, not_found);
    TempDir dest;
    Process first({binary, "fetch", drip.base() + "/m/model.json", "--root", dest.path().string(), "--timeout", "3"});
    const fsys::path part = dest.path() / ".fetch-partial-m/.model.json.new.part";
    for (int i = 0; i < 200 && !(fsys::exists(part) && fsys::file_size(part) > 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(fsys::exists(part));
    auto [code, out] = run_command({binary, "fetch", drip.base() + "/m/model.json", "--root", dest.path().string()});
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains(".fetch-partial-m is in use by another modelhost fetch of the same name"));
    CHECK(fsys::file_size(part) > 0);  // the running fetch's bytes are left alone
    CHECK(first.wait() == std::optional<int>(1));
}

TEST_CASE("the model URL's query goes to its shards on the same origin, an https to http redirect is refused", "[fetch][hardening][tls]") {
    CannedServer plain({{"/m/model.json", ok(manifest)},
                        {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                        {"/m/group1-shard2of2.bin", ok(std::string(200, '\x02'))}},
                       not_found);
    TempDir dest;
    auto [code, out] = run_command({binary, "fetch", plain.base() + "/m/model.json?token=s3cret", "--root", dest.path().string()});
    INFO(out);
    CHECK(code == 0);
    for (const auto& t : plain.targets()) CHECK(t.ends_with("?token=s3cret"));

    TestPki pki;
    auto ctx = pki.server_context();
    CannedServer secure({{"/m/model.json", "HTTP/1.1 302 Found\r\nLocation: " + plain.base() + "/m/model.json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"}},
                        not_found, &ctx);
    auto [refused, why] = run_command({binary, "fetch", secure.base() + "/m/model.json", "--root", dest.path().string(),
                                       "--name", "down", "--ca-file", pki.path("ca.pem")});
    CHECK(refused == 1);
    CHECK_THAT(why, Catch::Contains("from https to plain http"));
    CHECK_FALSE(fsys::exists(dest.path() / "down"));
}
