// modelhost fetch npm: and the npm mirror against a canned registry written here in the registry's shapes (a
// package document naming each version's tarball and its SRI integrity, the tarball at /{name}/-/{name}-{v}.tgz), with
// tarballs made by the test: a package as npm packs it, and hostile ones. Then the npm-CDN layout they fill, served.
#include "catch.hpp"

#include "canned_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "tarballs.hpp"
#include "temp_dir.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::string wasm = std::string("\0asm\1\0\0\0", 8) + std::string(3000, '\x11');

std::string integrity_of(const std::string& bytes) {
    unsigned char md[SHA512_DIGEST_LENGTH];
    SHA512(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
    unsigned char b64[100];
    const int n = EVP_EncodeBlock(b64, md, sizeof md);
    return "sha512-" + std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

// The demo package's files, as npm packs them.
std::vector<TarEntry> demo_files() {
    return {{"package/package.json", R"({"name":"demo","version":"1.0.0"})"},
            {"package/x.js", "export const x = 1;\n"},
            {"package/x.mjs", "export default 1;\n"},
            {"package/x.cjs", "module.exports = 1;\n"},
            {"package/x.wasm", wasm},
            {"package/docs/index.html", "<script>alert(1)</script>"},
            {"package/dist/ort.min.mjs", "export const ort = 1;\n"}};
}

// A registry holding versions of packages; each answer may be edited to misbehave.
struct Registry {
    struct Published {
        std::string tarball, integrity, tarball_url;  // tarball_url: "" for the registry's own
    };
    std::mutex lock;
    std::map<std::string, std::map<std::string, Published>> packages;  // name -> version -> what it is
    std::map<std::string, std::string> tags;
    std::chrono::milliseconds delay{0};
    std::vector<std::string> asked;
    CannedServer server{[this](const std::string& head) { return answer(head); }};

    void publish(const std::string& name, const std::string& version, const std::vector<TarEntry>& files) {
        std::lock_guard g(lock);
        const std::string tgz = npm_tarball(files);
        packages[name][version] = {tgz, integrity_of(tgz), ""};
        tags[name] = version;
    }
    static std::string basename(const std::string& name) { return name.substr(name.find('/') + 1); }
    std::string tarball_path(const std::string& name, const std::string& version) const {
        return "/" + name + "/-/" + basename(name) + "-" + version + ".tgz";
    }
    std::size_t requests() {
        std::lock_guard g(lock);
        return asked.size();
    }
    int count(const std::string& target) {
        std::lock_guard g(lock);
        return static_cast<int>(std::count(asked.begin(), asked.end(), target));
    }

    std::string answer(const std::string& head) {
        const auto start = head.find(' ') + 1;
        const std::string target = head.substr(start, head.find(' ', start) - start);
        std::this_thread::sleep_for(delay);
        std::lock_guard g(lock);
        asked.push_back(target);
        for (const auto& [name, versions] : packages) {
            std::string escaped = name;
            if (auto slash = escaped.find('/'); slash != std::string::npos) escaped.replace(slash, 1, "%2f");
            if (target == "/" + name || target == "/" + escaped) {
                nlohmann::json doc{{"name", name}, {"dist-tags", {{"latest", tags[name]}}}, {"versions", nlohmann::json::object()}};
                for (const auto& [v, p] : versions)
                    doc["versions"][v] = {{"name", name}, {"version", v},
                                          {"dist", {{"tarball", p.tarball_url.empty() ? server.base() + tarball_path(name, v) : p.tarball_url},
                                                    {"integrity", p.integrity}}}};
                return canned_ok(doc.dump(), "Content-Type: application/json\r\n");
            }
            for (const auto& [v, p] : versions)
                if (target == tarball_path(name, v)) return canned_ok(p.tarball, "Content-Type: application/octet-stream\r\n");
        }
        return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
};

std::pair<int, std::string> fetch(const Registry& reg, const fsys::path& root, const std::vector<std::string>& args) {
    std::vector<std::string> argv{binary, "fetch"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& extra : std::vector<std::string>{"--registry", reg.server.base() + "/", "--root", root.string()})
        argv.push_back(extra);
    return run_command(argv);
}

std::string header(const Response& r, const char* name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

// Every regular file under `root`.
std::vector<std::string> files_under(const fsys::path& root) {
    std::vector<std::string> out;
    for (const auto& e : fsys::recursive_directory_iterator(root))
        if (e.is_regular_file()) out.push_back(e.path().lexically_relative(root).string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("fetch npm: installs ROOT/npm/demo@1.0.0, served with the runtime's types and immutable, and a tag redirects", "[npm]") {
    Registry reg;
    reg.publish("demo", "1.0.0", demo_files());
    TempDir root;
    auto [code, out] = fetch(reg, root.path(), {"npm:demo@1.0.0"});
    INFO(out);
    REQUIRE(code == 0);
    const fsys::path pkg = root.path() / "npm/demo@1.0.0";
    CHECK(read_file(pkg / "x.wasm") == wasm);
    CHECK_FALSE(fsys::exists(pkg / "docs/index.html"));  // active content on this origin: never unpacked
    CHECK(out.find("skipping docs/index.html (active content)") != std::string::npos);
    CHECK(fsys::exists(pkg / ".modelhost-npm.json"));
    CHECK_FALSE(fsys::exists(pkg / ".package.tgz"));
    CHECK(reg.count("/demo/-/demo-1.0.0.tgz") == 1);

    TestServer s(root.path(), R"({"cors": {"allow_origins": ["https://app.example"]}})");
    const std::string origin = "Origin: https://app.example\r\n";
    for (const auto& [file, type] : std::vector<std::pair<std::string, std::string>>{
             {"x.js", "text/javascript"}, {"x.mjs", "text/javascript"}, {"x.cjs", "text/javascript"}, {"x.wasm", "application/wasm"}}) {
        auto r = request(s.port(), "GET", "/npm/demo@1.0.0/" + file, origin);
        INFO(file);
        CHECK(r.result_int() == 200);
        CHECK(header(r, "Content-Type").starts_with(type));
        CHECK(header(r, "Cache-Control") == "public, max-age=31536000, immutable");
        CHECK(header(r, "Access-Control-Allow-Origin") == "https://app.example");
    }
    CHECK(request(s.port(), "GET", "/npm/demo@1.0.0/x.wasm").body() == wasm);
    for (const std::string alias : {"/npm/demo@latest/x.js", "/npm/demo/x.js", "/npm/demo@1/x.js", "/npm/demo@%5E1.0.0/x.js", "/npm/demo@~1.0/x.js"}) {
        auto r = request(s.port(), "GET", alias + "?v=2", origin);
        INFO(alias);
        CHECK(r.result_int() == 302);
        CHECK(header(r, "Location") == "/npm/demo@1.0.0/x.js?v=2");
        CHECK(header(r, "Cache-Control") == "public, max-age=60");
        CHECK(header(r, "Access-Control-Allow-Origin") == "https://app.example");  // a redirect a fetch() follows
    }
    CHECK(request(s.port(), "GET", "/npm/demo@2/x.js").result_int() == 404);
    CHECK(request(s.port(), "GET", "/npm/other@latest/x.js").result_int() == 404);
}

TEST_CASE("fetch npm: a tag, --include, a scoped package and an npm-CDN URL", "[npm]") {
    Registry reg;
    reg.publish("demo", "1.0.0", demo_files());
    reg.publish("@acme/rt", "0.10.35", {{"package/wasm/a.wasm", wasm}, {"package/wasm/a.js", "1"}, {"package/big.bin", "b"}});
    TempDir root;
    auto [code, out] = fetch(reg, root.path(), {"npm:demo", "--include", "*.wasm", "--include", "dist/*"});
    INFO(out);
    REQUIRE(code == 0);
    CHECK(files_under(root.path() / "npm/demo@1.0.0") == std::vector<std::string>{".modelhost-npm.json", "dist/ort.min.mjs", "x.wasm"});
    auto [code2, out2] = fetch(reg, root.path(), {"https://cdn.jsdelivr.net/npm/@acme/rt@0.10.35/wasm/"});
    INFO(out2);
    REQUIRE(code2 == 0);
    CHECK(files_under(root.path() / "npm/@acme/rt@0.10.35") == std::vector<std::string>{".modelhost-npm.json", "wasm/a.js", "wasm/a.wasm"});
    CHECK(reg.count("/@acme%2frt") == 1);  // the scope's '/' escaped, as npm sends it

    auto [again, out3] = fetch(reg, root.path(), {"npm:demo@1.0.0"});
    CHECK(again == 1);
    CHECK(out3.find("already exists") != std::string::npos);
    auto [none, out4] = fetch(reg, root.path(), {"npm:demo@9"});
    CHECK(none == 1);
    CHECK(out4.find("no version") != std::string::npos);
    CHECK(fetch(reg, root.path(), {"npm:Bad Name@1"}).first == 2);
}

TEST_CASE("fetch npm: a hostile tarball, a wrong integrity or a foreign tarball host exits 1 and writes nothing", "[npm][hardening]") {
    struct Case {
        const char* what;
        std::vector<TarEntry> files;
        const char* says;
    };
    const std::vector<Case> cases = {
        {"../ entry", {{"package/ok.js", "1"}, {"package/../../escaped.js", "x"}}, "climbs out"},
        {"absolute entry", {{"/tmp/modelhost-npm-absolute.js", "x"}}, "absolute"},
        {"symlink", {{"package/ok.js", "1"}, {"package/link", "", '2', "/etc/passwd"}}, "symbolic link"},
        {"hard link", {{"package/ok.js", "1"}, {"package/hard", "", '1', "package/ok.js"}}, "hard link"},
        {"device", {{"package/dev", "", '3'}}, "character device"},
        {"FIFO", {{"package/fifo", "", '6'}}, "FIFO"},
        {"hidden name", {{"package/.npmrc", "x"}}, "hidden"},
        {"duplicate", {{"package/a.js", "1"}, {"package/a.js", "2"}}, "given twice"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            Registry reg;
            reg.publish("evil", "1.0.0", c.files);
            TempDir root;
            auto [code, out] = fetch(reg, root.path(), {"npm:evil@1.0.0"});
            INFO(out);
            CHECK(code == 1);
            CHECK(out.find(c.says) != std::string::npos);
            CHECK(out.find("nothing was installed") != std::string::npos);
            CHECK(files_under(root.path()).empty());
            CHECK_FALSE(fsys::exists("/tmp/modelhost-npm-absolute.js"));
            CHECK_FALSE(fsys::exists(root.path().parent_path() / "escaped.js"));
        }
    }
    SECTION("wrong integrity") {
        Registry reg;
        reg.publish("evil", "1.0.0", demo_files());
        reg.packages["evil"]["1.0.0"].integrity = integrity_of("other bytes");
        TempDir root;
        auto [code, out] = fetch(reg, root.path(), {"npm:evil@1.0.0"});
        INFO(out);
        CHECK(code == 1);
        CHECK(out.find("SHA-512") != std::string::npos);
        CHECK(files_under(root.path()).empty());
    }
    SECTION("a tarball on another host") {
        Registry reg, other;
        other.publish("evil", "1.0.0", demo_files());
        reg.publish("evil", "1.0.0", demo_files());
        reg.packages["evil"]["1.0.0"].tarball_url = other.server.base() + "/evil/-/evil-1.0.0.tgz";
        TempDir root;
        auto [code, out] = fetch(reg, root.path(), {"npm:evil@1.0.0"});
        INFO(out);
        CHECK(code == 1);
        CHECK(out.find("not on the registry's origin") != std::string::npos);
        CHECK(other.count("/evil/-/evil-1.0.0.tgz") == 0);
        CHECK(files_under(root.path()).empty());
    }
}

namespace {

struct NpmMirror {
    TempDir root;
    TestServer server;
    explicit NpmMirror(const Registry& reg, const std::string& extra = "")
        : server(root.path(), R"({"cors": {"allow_origins": ["https://app.example"]}, "mirrors": [{"path": "/npm/", "upstream": ")" +
                                  reg.server.base() + "/\", \"kind\": \"npm\"" + extra + "}]}") {}
    Response get(const std::string& target) { return request(server.port(), "GET", target, "Origin: https://app.example\r\n"); }
};

}  // namespace

TEST_CASE("npm mirror: 20 concurrent cold requests make one tarball download and all get the file", "[npm][mirror]") {
    Registry reg;
    reg.publish("demo", "1.0.0", demo_files());
    reg.delay = std::chrono::milliseconds(200);  // the version is still being filled when the others arrive
    NpmMirror mirror(reg);
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int i = 0; i < 20; ++i)
        clients.emplace_back([&, i] {
            auto r = mirror.get(i % 2 ? "/npm/demo@1.0.0/x.wasm" : "/npm/demo@1.0.0/x.mjs");
            ok += r.result_int() == 200 && (i % 2 ? r.body() == wasm : r.body() == "export default 1;\n") &&
                  header(r, "Access-Control-Allow-Origin") == "https://app.example" &&
                  header(r, "Cache-Control") == "public, max-age=31536000, immutable" &&
                  header(r, "Content-Type").starts_with(i % 2 ? "application/wasm" : "text/javascript");
        });
    for (auto& t : clients) t.join();
    CHECK(ok == 20);
    CHECK(reg.count("/demo/-/demo-1.0.0.tgz") == 1);
    reg.delay = std::chrono::milliseconds(0);
    CHECK(mirror.get("/npm/demo@1.0.0/x.cjs").body() == "module.exports = 1;\n");  // unpacked with the others
    CHECK(mirror.get("/npm/demo@1.0.0/missing.js").result_int() == 404);          // not in the version: not asked for
    CHECK(mirror.get("/npm/demo@1.0.0/docs/index.html").result_int() == 404);     // never unpacked
    CHECK(reg.count("/demo/-/demo-1.0.0.tgz") == 1);

    // A tag resolves through the document, asked once and then kept for revalidate_after.
    auto r = mirror.get("/npm/demo@latest/x.wasm");
    CHECK(r.result_int() == 302);
    CHECK(header(r, "Location") == "/npm/demo@1.0.0/x.wasm");
    CHECK(header(r, "Access-Control-Allow-Origin") == "https://app.example");
    const int documents = reg.count("/demo");
    CHECK(mirror.get("/npm/demo/x.wasm").result_int() == 302);
    CHECK(reg.count("/demo") == documents);
    CHECK(mirror.get("/npm/demo@7/x.wasm").result_int() == 404);
    const auto asked = reg.requests();
    CHECK(mirror.get("/npm/demo@1.0.0").result_int() == 404);  // not a file of a version: the registry is not asked
    CHECK(mirror.get("/npm/demo@1.0.0/-/x").result_int() == 404);
    CHECK(reg.requests() == asked);
    CHECK(mirror.get("/npm/nothere@1.0.0/x.js").result_int() == 404);
}

TEST_CASE("npm mirror: a version larger than max_bytes is a 502, not a fill that evicts itself", "[npm][mirror]") {
    Registry reg;
    reg.publish("demo", "1.0.0", demo_files());
    NpmMirror mirror(reg, ", \"max_bytes\": 1000");
    auto r = mirror.get("/npm/demo@1.0.0/x.js");
    CHECK(r.result_int() == 502);
    CHECK(header(r, "Access-Control-Allow-Origin") == "https://app.example");
    CHECK(mirror.get("/npm/demo@1.0.0/x.js").result_int() == 502);  // remembered a second: not fetched again at once
    CHECK(reg.count("/demo/-/demo-1.0.0.tgz") == 1);
    CHECK_FALSE(fsys::exists(mirror.root.path() / "npm/demo@1.0.0"));
}

TEST_CASE("npm mirror: a refused tarball is a 502 with CORS and stores nothing", "[npm][mirror][hardening]") {
    Registry reg;
    reg.publish("evil", "1.0.0", {{"package/ok.js", "1"}, {"package/link", "", '2', "/etc/passwd"}});
    reg.publish("wrong", "1.0.0", demo_files());
    reg.packages["wrong"]["1.0.0"].integrity = integrity_of("other bytes");
    NpmMirror mirror(reg);
    for (const std::string path : {"/npm/evil@1.0.0/ok.js", "/npm/wrong@1.0.0/x.js"}) {
        auto r = mirror.get(path);
        INFO(path);
        CHECK(r.result_int() == 502);
        CHECK(header(r, "Access-Control-Allow-Origin") == "https://app.example");
    }
    CHECK_FALSE(fsys::exists(mirror.root.path() / "npm/evil@1.0.0"));
    CHECK_FALSE(fsys::exists(mirror.root.path() / "npm/wrong@1.0.0"));
}
