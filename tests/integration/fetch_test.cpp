// modelhost fetch: mirrors a model between servers byte for byte, over HTTP, redirects and HTTPS; failures install
// nothing and leave an existing model untouched.
#include "catch.hpp"

#include "http_client.hpp"
#include "process.hpp"
#include "tools/fetch.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <fstream>
#include <map>
#include <sstream>

using namespace modelhost::test;
namespace asio = boost::asio;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;

std::string slurp(const fsys::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Answers by path with canned raw responses (plain or TLS); unknown paths get 404.
class CannedServer {
public:
    CannedServer(std::map<std::string, std::string> routes, asio::ssl::context* tls = nullptr)
        : routes_(std::move(routes)), tls_(tls), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] {
            for (;;) {
                asio::ip::tcp::socket sock(ioc_);
                boost::system::error_code ec;
                acceptor_.accept(sock, ec);
                if (ec || stop_) return;
                if (tls_) {
                    asio::ssl::stream<asio::ip::tcp::socket&> s(sock, *tls_);
                    s.handshake(asio::ssl::stream_base::server, ec);
                    if (!ec) serve(s);
                } else {
                    serve(sock);
                }
            }
        });
    }
    ~CannedServer() {
        stop_ = true;
        asio::ip::tcp::socket poke(ioc_);
        boost::system::error_code ec;
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::string base() const { return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

private:
    template <class Stream>
    void serve(Stream& s) {
        boost::system::error_code ec;
        asio::streambuf buf;
        asio::read_until(s, buf, "\r\n\r\n", ec);
        std::string request((std::istreambuf_iterator<char>(&buf)), {});
        std::string path = request.substr(4, request.find(' ', 4) - 4);
        path = path.substr(0, path.find('?'));
        auto it = routes_.find(path);
        std::string reply = it != routes_.end() ? it->second : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        asio::write(s, asio::buffer(reply), ec);
    }

    std::map<std::string, std::string> routes_;
    asio::ssl::context* tls_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

std::string ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

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

TEST_CASE("fetching the real face mesh model from one modelhost into another root is byte-identical and checks ok", "[fetch]") {
    const fsys::path assets = fsys::path(MODELHOST_SOURCE_DIR) / "tests/browser/assets/models";
    REQUIRE(fsys::exists(assets / "face_mesh/model.json"));  // unpacked by tests/browser/setup.sh
    TestServer source(assets);
    TempDir dest;
    const std::string base = "http://127.0.0.1:" + std::to_string(source.port());
    auto [code, out] = run_command({binary, "fetch", base + "/face_mesh/model.json", "--root", dest.path().string()});
    INFO(out);
    REQUIRE(code == 0);
    CHECK(slurp(dest.path() / "face_mesh/facemesh.bin") == slurp(assets / "face_mesh/facemesh.bin"));
    CHECK(slurp(dest.path() / "face_mesh/model.json") == slurp(assets / "face_mesh/model.json"));
    auto [check, table] = run_command({binary, "check", dest.path().string()});
    CHECK(check == 0);
    CHECK(leftovers(dest.path()).empty());

    // A tfhub-style URL (no model.json) works too, and an existing model is kept unless --force.
    auto [again, exists] = run_command({binary, "fetch", base + "/face_detection_short", "--root", dest.path().string(), "--name", "face_mesh"});
    CHECK(again == 1);
    CHECK_THAT(exists, Catch::Contains("already exists; pass --force"));
    auto [forced, _] = run_command({binary, "fetch", base + "/face_detection_short", "--root", dest.path().string(), "--name", "face_mesh", "--force"});
    CHECK(forced == 0);
    CHECK(slurp(dest.path() / "face_mesh/model.json") == slurp(assets / "face_detection_short/model.json"));
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
                      {"/m/group1-shard2of2.bin", redirect(t + "/m/group1-shard2of2.bin")}});
    TempDir dest;
    auto [code, out] = run_command({binary, "fetch", hub.base() + "/m/model.json", "--root", dest.path().string(), "--name", "mirrored"});
    INFO(out);
    CHECK(code == 0);
    CHECK(slurp(dest.path() / "mirrored/group1-shard1of2.bin") == std::string(1000, '\x01'));
}

TEST_CASE("a shard cut short or a dropped connection fails the fetch, installs nothing and keeps the old model", "[fetch]") {
    CannedServer cut({{"/m/model.json", ok(manifest)},
                      {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                      {"/m/group1-shard2of2.bin", "HTTP/1.1 200 OK\r\nContent-Length: 200\r\nConnection: close\r\n\r\n" + std::string(50, '\x02')}});
    CannedServer small({{"/m/model.json", ok(manifest)},
                        {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                        {"/m/group1-shard2of2.bin", ok(std::string(50, '\x02'))}});  // complete response, short file
    TempDir dest;
    dest.write("m/model.json", "the good old model");
    for (const std::string& base : std::vector<std::string>{cut.base(), small.base()}) {
        INFO(base);
        auto [code, out] = run_command({binary, "fetch", base + "/m/model.json", "--root", dest.path().string(), "--force"});
        CHECK(code == 1);
        CHECK(slurp(dest.path() / "m/model.json") == "the good old model");
        CHECK(leftovers(dest.path()).empty());
        if (base == small.base()) CHECK_THAT(out, Catch::Contains("holds 50 bytes, the manifest needs 200"));
        else CHECK_THAT(out, Catch::Contains("closed before the whole body arrived"));
    }
    dest.write(".fetch-999999999-m/model.json", "left by a fetch that was killed");
    auto [refused, why] = run_command({binary, "fetch", "http://127.0.0.1:1/m/model.json", "--root", dest.path().string(), "--name", "x"});
    CHECK(leftovers(dest.path()).empty());  // the abandoned temporary folder is gone too
    CHECK(refused == 1);
    CHECK_FALSE(fsys::exists(dest.path() / "x"));
}

TEST_CASE("fetch over HTTPS trusts a private CA given with --ca-file and refuses an unknown one", "[fetch][tls]") {
    TempDir pki;
    pki.write("san.ext", "subjectAltName=IP:127.0.0.1\n");
    auto [made, log] = run_command({"/bin/sh", "-c", "cd '" + pki.path().string() + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=test-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 && "
        "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile san.ext"});
    REQUIRE(made == 0);
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.use_certificate_chain_file((pki.path() / "srv.pem").string());
    ctx.use_private_key_file((pki.path() / "srv.key").string(), asio::ssl::context::pem);
    CannedServer https({{"/m/model.json", ok(manifest)},
                        {"/m/group1-shard1of2.bin", ok(std::string(1000, '\x01'))},
                        {"/m/group1-shard2of2.bin", ok(std::string(200, '\x02'))}}, &ctx);
    TempDir dest;
    auto [code, out] = run_command({binary, "fetch", https.base() + "/m/model.json", "--root", dest.path().string(),
                                    "--ca-file", (pki.path() / "ca.pem").string()});
    INFO(out);
    CHECK(code == 0);
    CHECK(slurp(dest.path() / "m/group1-shard2of2.bin") == std::string(200, '\x02'));
    auto [bad, why] = run_command({binary, "fetch", https.base() + "/m/model.json", "--root", dest.path().string(), "--name", "other"});
    CHECK(bad == 1);
    CHECK_THAT(why, Catch::Contains("certificate verify failed"));
    CHECK_FALSE(fsys::exists(dest.path() / "other"));
}
