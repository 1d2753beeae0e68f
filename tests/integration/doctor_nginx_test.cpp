// modelhost doctor against a real nginx (Debian's) configured the common wrong ways: it must name the real cause
// first and a fix in nginx's own terms.
#include "catch.hpp"

#include "process.hpp"
#include "temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <thread>

using namespace modelhost::test;
namespace asio = boost::asio;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::string nginx_binary = "/usr/sbin/nginx";
const std::string page = "http://localhost:5173";

std::uint16_t unused_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// One nginx process (no daemon, no master) serving a two-shard model under /m/ with `location` as the body of
// `location /`; `snippet` is written to cors.conf for it to include.
class Nginx {
public:
    explicit Nginx(const std::string& location, const std::string& snippet = "") {
        dir_.write("root/m/model.json", R"({"format":"graph-model","modelTopology":{"node":[]},"weightsManifest":[{"paths":)"
                                        R"(["group1-shard1of2.bin","group1-shard2of2.bin"],"weights":[{"name":"k","shape":[4],"dtype":"float32"}]}]})");
        dir_.write("root/m/group1-shard1of2.bin", std::string(8, '\0'));
        dir_.write("root/m/group1-shard2of2.bin", std::string(8, '\0'));
        dir_.write("cors.conf", snippet);
        std::filesystem::create_directories(dir_.path() / "tmp");
        port_ = unused_port();
        std::string d = dir_.path().string();
        auto conf = dir_.write("nginx.conf",
            "daemon off; master_process off; worker_processes 1; pid " + d + "/nginx.pid; error_log " + d + "/error.log;\n"
            "events { worker_connections 64; }\n"
            "http { include /etc/nginx/mime.types; access_log off;\n"
            "  client_body_temp_path " + d + "/tmp; proxy_temp_path " + d + "/tmp; fastcgi_temp_path " + d + "/tmp;\n"
            "  uwsgi_temp_path " + d + "/tmp; scgi_temp_path " + d + "/tmp;\n"
            "  server { listen 127.0.0.1:" + std::to_string(port_) + "; root " + d + "/root;\n"
            "    location / { " + location + " } } }\n");
        REQUIRE(std::filesystem::exists(nginx_binary));  // scripts/deps installs nginx-light
        process_ = std::make_unique<Process>(std::vector<std::string>{nginx_binary, "-e", d + "/error.log", "-c", conf.string()});
        wait_until_listening();
    }
    std::string model() const { return "http://127.0.0.1:" + std::to_string(port_) + "/m/model.json"; }
    void remove(const std::string& file) const { std::filesystem::remove(dir_.path() / "root/m" / file); }
    void write(const std::string& rel, const std::string& content) { dir_.write("root/" + rel, content); }
    std::string root(const std::string& rel) const { return (dir_.path() / "root" / rel).string(); }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    std::string path(const char* name) const { return (dir_.path() / name).string(); }

private:
    void wait_until_listening() {
        for (int i = 0; i < 200; ++i) {
            asio::io_context ioc;
            asio::ip::tcp::socket s(ioc);
            boost::system::error_code ec;
            s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
            if (!ec) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        FAIL("nginx did not start: " << process_->output());
    }
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Process> process_;
};

std::pair<int, std::string> doctor(const Nginx& n, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{binary, "doctor", n.model(), "--origin", page};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv);
}

}  // namespace

TEST_CASE("doctor on nginx without `always` and a deleted shard says 404 first and suggests always", "[doctor][nginx]") {
    Nginx n("add_header Access-Control-Allow-Origin *;");
    auto [ok, passing] = doctor(n);
    CHECK(ok == 0);  // every file there: the 200s carry the header
    n.remove("group1-shard2of2.bin");
    auto [code, out] = doctor(n);
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("PASS http://127.0.0.1"));  // model.json and the first shard
    CHECK_THAT(out, Catch::Contains("FAIL " + n.model().substr(0, n.model().size() - 10) + "group1-shard2of2.bin\n"
                                    "  - 404 Not Found: the file is missing\n"));
    CHECK_THAT(out, Catch::Contains("the 404 carries no Access-Control-Allow-Origin, so the browser reports a CORS error "
                                    "instead of the 404"));
    CHECK_THAT(out, Catch::Contains("fix (nginx/"));
    CHECK_THAT(out, Catch::Contains("publish the file at this URL"));
    CHECK_THAT(out, Catch::Contains("add `always` to each add_header Access-Control-... line"));
    CHECK_THAT(out, !Catch::Contains("cors.allow_origins"));  // modelhost's keys mean nothing on nginx
}

TEST_CASE("doctor on nginx with `always` and a deleted shard: the page sees the 404, no CORS advice", "[doctor][nginx]") {
    Nginx n("add_header Access-Control-Allow-Origin * always;");
    n.remove("group1-shard2of2.bin");
    auto [code, out] = doctor(n);
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("404 Not Found: the file is missing"));
    CHECK_THAT(out, Catch::Contains("the page sees the 404"));
    CHECK_THAT(out, !Catch::Contains("always"));
}

TEST_CASE("doctor on nginx naming a fixed other origin suggests a map of allowed origins", "[doctor][nginx]") {
    Nginx n("add_header Access-Control-Allow-Origin https://other.example always;");
    auto [code, out] = doctor(n);
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("Access-Control-Allow-Origin names another origin ('https://other.example'), not " + page));
    CHECK_THAT(out, Catch::Contains("has a value 'https://other.example' that is not equal to the supplied origin"));
    CHECK_THAT(out, Catch::Contains("map $http_origin $cors_origin { default \"\"; \"" + page + "\" $http_origin; "
                                    "\"https://other.example\" $http_origin; }"));
}

TEST_CASE("doctor on nginx sending two Access-Control-Allow-Origin headers names the two add_header lines", "[doctor][nginx]") {
    Nginx n("add_header Access-Control-Allow-Origin * always; include cors.conf;",
            "add_header Access-Control-Allow-Origin $http_origin always;\n");
    auto [code, out] = doctor(n);
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("Access-Control-Allow-Origin is sent more than once ('*, " + page + "')"));
    CHECK_THAT(out, Catch::Contains("contains multiple values '*, " + page + "', but only one is allowed"));
    CHECK_THAT(out, Catch::Contains("two add_header lines set it"));
}

TEST_CASE("doctor on nginx: a header that needs a preflight meets nginx's 405 for OPTIONS", "[doctor][nginx]") {
    Nginx n("add_header Access-Control-Allow-Origin * always;");
    auto [code, out] = doctor(n, {"--header", "X-Trace"});
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("the preflight (OPTIONS, caused by the request header(s) X-Trace) gets 405 Method Not Allowed"));
    CHECK_THAT(out, Catch::Contains("It does not have HTTP ok status."));
    CHECK_THAT(out, Catch::Contains("if ($request_method = OPTIONS) {"));
}

TEST_CASE("doctor --json prints one object per file with the cause, the browser's view and the fix", "[doctor][nginx]") {
    Nginx n("add_header Access-Control-Allow-Origin *;");
    n.remove("group1-shard2of2.bin");
    auto [code, out] = doctor(n, {"--json"});
    CHECK(code == 1);
    std::istringstream lines(out);
    std::vector<nlohmann::json> files;
    for (std::string line; std::getline(lines, line);) files.push_back(nlohmann::json::parse(line));  // throws if not JSON
    REQUIRE(files.size() == 3);
    CHECK(files[0]["url"] == n.model());
    CHECK(files[0]["pass"] == true);
    CHECK(files[2]["pass"] == false);
    CHECK(files[2]["status"] == 404);
    CHECK(files[2]["server"].get<std::string>().starts_with("nginx"));
    CHECK(files[2]["failures"][0]["cause"] == "404 Not Found: the file is missing");
    CHECK_THAT(files[2]["failures"][0]["fix"].get<std::string>(), Catch::Contains("`always`"));
}

// The loaders beside TF.js (doctor --loader), against the shapes nginx is most often set up in.
TEST_CASE("doctor --loader transformers against nginx with an SPA fallback names the HTML page as the cause", "[doctor][nginx][formats]") {
    Nginx n("add_header Access-Control-Allow-Origin * always; "
            "add_header Access-Control-Expose-Headers \"Content-Range, Content-Length, ETag\" always; try_files $uri /index.html;");
    n.write("index.html", "<!doctype html><html><body><div id=app></div></body></html>\n");
    n.write("acme/tiny/config.json", R"({"model_type":"bert"})");
    n.write("acme/tiny/tokenizer.json", R"({"version":"1.0"})");  // tokenizer_config.json is missing
    auto [code, out] = run_command({binary, "doctor", n.url("/acme/tiny/"), "--origin", page, "--loader", "transformers"});
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("PASS " + n.url("/acme/tiny/config.json") + "\n"));
    CHECK_THAT(out, Catch::Contains("PASS " + n.url("/acme/tiny/config.json (Range: bytes=0-0)")));
    CHECK_THAT(out, Catch::Contains("FAIL " + n.url("/acme/tiny/tokenizer_config.json") + "\n"
                                    "  - the host answers missing files with its HTML page (an SPA fallback): this .json URL got a 200 text/html\n"));
    CHECK_THAT(out, Catch::Contains("Unexpected token '<'"));
    CHECK_THAT(out, Catch::Contains("the location's try_files ends in /index.html"));
    CHECK_THAT(out, Catch::Contains("(must not exist)\n  - the host answers missing files with its HTML page"));
}

TEST_CASE("doctor --loader transformers flags a Range probe whose Content-Range the page cannot read", "[doctor][nginx][formats]") {
    Nginx n("add_header Access-Control-Allow-Origin * always;");
    n.write("acme/tiny/config.json", R"({"model_type":"bert"})");
    auto [code, out] = run_command({binary, "doctor", n.url("/acme/tiny/config.json"), "--origin", page});
    INFO(out);
    CHECK(code == 1);  // guessed from config.json
    CHECK_THAT(out, Catch::Contains("FAIL " + n.url("/acme/tiny/config.json (Range: bytes=0-0)") + "\n"
                                    "  - Content-Range is not in Access-Control-Expose-Headers\n"));
    CHECK_THAT(out, Catch::Contains("add_header Access-Control-Expose-Headers \"Content-Range, Content-Length, ETag\" always;"));
    CHECK_THAT(out, Catch::Contains("PASS " + n.url("/acme/tiny/tokenizer.json")));  // a real 404, readable: fine
}

TEST_CASE("doctor --loader webllm flags Vary: * (Cache.add fails) and a missing tensor-cache.json", "[doctor][nginx][formats]") {
    Nginx n("add_header Access-Control-Allow-Origin * always; add_header Vary * always;");
    n.write("llm/mlc-chat-config.json", R"({"model_type":"llama","tokenizer_files":["tokenizer.json"]})");
    n.write("llm/ndarray-cache.json", R"({"records":[{"dataPath":"params_shard_0.bin","nbytes":4}]})");
    n.write("llm/tokenizer.json", "{}");
    n.write("llm/params_shard_0.bin", "abcd");
    auto [code, out] = run_command({binary, "doctor", n.url("/llm/"), "--origin", page, "--loader", "webllm"});
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("FAIL " + n.url("/llm/mlc-chat-config.json") + "\n  - Vary: * on the response\n"));
    CHECK_THAT(out, Catch::Contains("Cache.add: \"encountered a network error\""));
    CHECK_THAT(out, Catch::Contains("FAIL " + n.url("/llm/tensor-cache.json") + "\n  - 404 Not Found: the file is missing\n"));
    CHECK_THAT(out, Catch::Contains("apache/tvm renamed ndarray-cache.json to tensor-cache.json (#18275)"));
    CHECK_THAT(out, Catch::Contains("FAIL " + n.url("/llm/tokenizer.json") + "\n  - Vary: * on the response\n"));
}

TEST_CASE("doctor --loader ort against nginx without application/wasm, and a module script it types wrong", "[doctor][nginx][formats]") {
    Nginx n("add_header Access-Control-Allow-Origin * always; types { } default_type application/octet-stream;");
    n.write("npm/onnxruntime-web@1.0.0/dist/ort-wasm-simd-threaded.wasm", std::string("\0asm\x01\0\0\0", 8));
    n.write("npm/onnxruntime-web@1.0.0/dist/ort-wasm-simd-threaded.mjs", "export default 1;\n");
    auto [code, out] = run_command({binary, "doctor", n.url("/npm/onnxruntime-web@1.0.0/dist/ort-wasm-simd-threaded.wasm"), "--origin", page});
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("a .wasm file served as 'application/octet-stream'"));
    CHECK_THAT(out, Catch::Contains("Expected 'application/wasm'"));
    CHECK_THAT(out, Catch::Contains("no Cross-Origin-Resource-Policy"));
    auto [mjs, says] = run_command({binary, "doctor", n.url("/npm/onnxruntime-web@1.0.0/dist/ort-wasm-simd-threaded.mjs"), "--origin", page,
                                    "--loader", "ort"});
    CHECK(mjs == 1);
    CHECK_THAT(says, Catch::Contains("Expected a JavaScript module script but the server responded with a MIME type of \"application/octet-stream\""));
}

TEST_CASE("doctor: after a redirect to another origin the page's Origin is null, so that hop needs *", "[doctor][nginx][formats]") {
    // 127.0.0.1 -> localhost: another origin (another host), so the browser sends Origin: null to the second hop.
    Nginx n("add_header Access-Control-Allow-Origin \"" + page + "\" always; add_header Vary Origin always; "
            "location /moved/ { add_header Access-Control-Allow-Origin \"" + page + "\" always; "
            "return 302 http://localhost:$server_port/m/model.json; }");
    auto [code, out] = run_command({binary, "doctor", n.url("/moved/model.json"), "--origin", page, "--loader", "tfjs"});
    INFO(out);
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("after a redirect to another origin the browser sends Origin: null, so this hop needs "
                                    "Access-Control-Allow-Origin: * (Access-Control-Allow-Origin names another origin ('" + page +
                                    "'), not null)"));
}

TEST_CASE("doctor --loader transformers flags a compressed body whose Content-Length is the compressed size", "[doctor][nginx][formats]") {
    Nginx n("add_header Access-Control-Allow-Origin * always; add_header Access-Control-Expose-Headers \"Content-Range\" always; "
            "gzip_static on;");
    const std::string config = R"({"model_type":"bert","padding":")" + std::string(4000, 'x') + "\"}";
    n.write("acme/tiny/config.json", config);
    auto [gz, gz_out] = run_command({"/bin/sh", "-c", "gzip -9 -k " + n.root("acme/tiny/config.json")});
    REQUIRE(gz == 0);
    auto [code, out] = run_command({binary, "doctor", n.url("/acme/tiny/"), "--origin", page, "--loader", "transformers"});
    INFO(out);
    CHECK(code == 0);  // a warning, not a failure
    CHECK_THAT(out, Catch::Contains("the body is sent with Content-Encoding: gzip and Content-Length: "));
    CHECK_THAT(out, Catch::Contains("the compressed size: transformers.js's progress counts the decoded bytes against it"));
    CHECK_THAT(out, Catch::Contains("gzip off;"));
}
