// modelhost fetch hf:ORG/NAME and the huggingface mirror against a canned hub written here in the hub's shapes: the
// revision API, a relative redirect for small files, a 302 to a separate CDN origin for LFS files, Xet headers; and
// hostile variants.
#include "catch.hpp"

#include "canned_server.hpp"
#include "digests.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "tools/fetch_hf.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

using namespace modelhost::test;
namespace fsys = std::filesystem;

namespace {

const std::string binary = MODELHOST_BINARY;
const std::string commit = "4f2a6c1e9b8d7a6f5e4d3c2b1a09f8e7d6c5b4a3";


std::string redirect(const std::string& status, const std::string& location, const std::string& extra = "") {
    return "HTTP/1.1 " + status + "\r\nLocation: " + location + "\r\n" + extra + "Content-Length: 0\r\nConnection: close\r\n\r\n";
}

// A hub with acme/tiny at `commit`: config.json (redirected relatively, as the hub does for small files), an LFS
// ONNX file (redirected to the CDN, with Xet headers), a hidden .gitattributes. `siblings` may be replaced whole.
struct CannedHub {
    std::string config = R"({"model_type": "bert"})";
    std::string onnx = std::string(70000, '\x03') + "weights";
    std::unique_ptr<CannedServer> cdn, hub;
    TempDir root;

    explicit CannedHub(const std::function<void(nlohmann::json&)>& edit = {}, const std::string& cdn_body = "") {
        cdn = std::make_unique<CannedServer>(std::map<std::string, std::string>{
            {"/repos/ab/cd/onnx", cdn_body.empty() ? canned_ok(onnx, "X-Xet-Hash: 0011\r\nETag: \"cdn\"\r\n") : cdn_body}},
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        nlohmann::json info{{"id", "acme/tiny"}, {"sha", commit},
                            {"siblings", {{{"rfilename", ".gitattributes"}, {"size", 10}},
                                          {{"rfilename", "config.json"}, {"size", config.size()}, {"blobId", git_blob_id(config)}},
                                          {{"rfilename", "onnx/model.onnx"}, {"size", onnx.size()}, {"blobId", std::string(40, 'e')},
                                           {"lfs", {{"sha256", sha256_hex(onnx)}, {"size", onnx.size()}, {"pointerSize", 134}}}}}}};
        if (edit) edit(info);
        const std::string prefix = "/acme/tiny/resolve/" + commit;
        hub = std::make_unique<CannedServer>(std::map<std::string, std::string>{
            {"/api/models/acme/tiny/revision/main", canned_ok(info.dump(), "Content-Type: application/json\r\nX-Repo-Commit: " + commit + "\r\n")},
            {"/api/models/acme/tiny/revision/" + commit, canned_ok(info.dump(), "Content-Type: application/json\r\n")},
            {prefix + "/config.json", redirect("307 Temporary Redirect", "/api/resolve-cache/models/acme/tiny/" + commit + "/config.json",
                                               "X-Repo-Commit: " + commit + "\r\n")},
            {"/api/resolve-cache/models/acme/tiny/" + commit + "/config.json", canned_ok(config, "ETag: \"" + git_blob_id(config) + "\"\r\n")},
            {prefix + "/onnx/model.onnx", redirect("302 Found", cdn->base() + "/repos/ab/cd/onnx?X-Amz-Signature=abc",
                                                   "X-Linked-Etag: \"" + sha256_hex(onnx) + "\"\r\nX-Xet-Hash: 0011\r\n")}},
            "HTTP/1.1 404 Not Found\r\nX-Error-Code: EntryNotFound\r\nContent-Length: 0\r\n\r\n");
    }

    std::pair<int, std::string> fetch(const std::vector<std::string>& extra = {}, const std::string& token = "") {
        std::vector<std::string> argv{binary, "fetch", "hf:acme/tiny", "--root", root.path().string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        std::vector<std::string> env{"HF_ENDPOINT=" + hub->base()};
        if (!token.empty()) env.push_back("HF_TOKEN=" + token);
        return run_command(argv, env);
    }

    // Nothing under the root but what was there: no model folder, no work folder.
    bool untouched() const { return fsys::is_empty(root.path()); }
};

bool any_head_has(const std::vector<std::string>& heads, const std::string& text) {
    for (const auto& h : heads)
        if (h.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("fetch hf: stores the files verified, records the commit, and the token goes only to the hub", "[hf_fetch]") {
    CannedHub hub;
    auto [code, out] = hub.fetch({}, "hf_secret");
    INFO(out);
    REQUIRE(code == 0);
    const fsys::path model = hub.root.path() / "acme/tiny";
    CHECK(read_file(model / "config.json") == hub.config);
    CHECK(read_file(model / "onnx/model.onnx") == hub.onnx);
    CHECK_FALSE(fsys::exists(model / ".gitattributes"));
    CHECK(out.find("skipping .gitattributes (hidden)") != std::string::npos);
    auto record = nlohmann::json::parse(read_file(model / ".modelhost-hf.json"));
    CHECK(record["commit"] == commit);
    CHECK(record["files"]["onnx/model.onnx"]["sha256"] == sha256_hex(hub.onnx));
    CHECK(any_head_has(hub.hub->heads(), "Authorization: Bearer hf_secret"));
    CHECK_FALSE(any_head_has(hub.cdn->heads(), "Authorization"));
    // The files were asked by commit, never by branch.
    for (const auto& t : hub.hub->targets())
        if (t.find("/resolve/") != std::string::npos) CHECK(t.find("/resolve/" + commit + "/") != std::string::npos);

    // Served, the folder answers as the hub did: its commit, and its LFS SHA-256 from the record.
    TestServer s(hub.root.path());
    auto r = request(s.port(), "GET", "/acme/tiny/resolve/" + commit + "/onnx/model.onnx");
    CHECK(r.result_int() == 200);
    CHECK(r[std::string("X-Repo-Commit")] == commit);
    CHECK(r[std::string("X-Linked-Etag")] == "\"" + sha256_hex(hub.onnx) + "\"");
    CHECK(r.find("X-Xet-Hash") == r.end());
}

TEST_CASE("fetch hf: --include and --exclude choose the files, '*' crossing folders", "[hf_fetch]") {
    CannedHub hub;
    auto [code, out] = hub.fetch({"--include", "*.json"});
    INFO(out);
    REQUIRE(code == 0);
    CHECK(fsys::exists(hub.root.path() / "acme/tiny/config.json"));
    CHECK_FALSE(fsys::exists(hub.root.path() / "acme/tiny/onnx"));
    CannedHub other;
    auto [code2, out2] = other.fetch({"--exclude", "onnx/*", "--exclude", "*.json"});
    CHECK(code2 == 1);
    CHECK(out2.find("matches --include/--exclude") != std::string::npos);
    CHECK(other.untouched());
}

TEST_CASE("fetch hf: a wrong SHA-256 exits 1, names the file and writes nothing", "[hf_fetch]") {
    CannedHub hub([](nlohmann::json& info) { info["siblings"][2]["lfs"]["sha256"] = std::string(64, 'a'); });
    auto [code, out] = hub.fetch();
    INFO(out);
    CHECK(code == 1);
    CHECK(out.find("onnx/model.onnx: SHA-256") != std::string::npos);
    CHECK(out.find("does not match the hub's " + std::string(64, 'a')) != std::string::npos);
    CHECK(hub.untouched());
}

TEST_CASE("fetch hf: a sibling path with .. or an escape exits 1 before any file is asked for", "[hf_fetch]") {
    for (const char* hostile : {"../../etc/cron.d/x", "onnx/../../x.json", "a\\b.json", "%2e%2e/x.json", "/abs.json"}) {
        INFO(hostile);
        CannedHub hub([&](nlohmann::json& info) { info["siblings"].push_back({{"rfilename", hostile}, {"size", 4}}); });
        auto [code, out] = hub.fetch();
        INFO(out);
        CHECK(code == 1);
        CHECK(out.find("refusing") != std::string::npos);
        CHECK(hub.untouched());
        for (const auto& t : hub.hub->targets()) CHECK(t.find("/resolve/") == std::string::npos);
    }
}

TEST_CASE("fetch hf: an endless or longer body is cut at the listed size and nothing is installed", "[hf_fetch]") {
    CannedHub hub({}, canned_endless("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", std::string(4096, 'x')));
    auto [code, out] = hub.fetch({"--timeout", "20"});
    INFO(out);
    CHECK(code == 1);
    CHECK(out.find("/repos/ab/cd/onnx?X-Amz-Signature=abc: sends more than the 70007 bytes allowed") != std::string::npos);
    CHECK(hub.untouched());  // config.json had arrived: gone with the work folder
}

TEST_CASE("fetch hf: malformed answers and ids are refused with the reason", "[hf_fetch]") {
    CannedHub no_sha([](nlohmann::json& info) { info.erase("sha"); });
    auto [code, out] = no_sha.fetch();
    CHECK(code == 1);
    CHECK(out.find("has no 40-hex \"sha\"") != std::string::npos);
    CannedHub no_size([](nlohmann::json& info) { info["siblings"][1].erase("size"); });
    auto [code2, out2] = no_size.fetch();
    CHECK(code2 == 1);
    CHECK(out2.find("config.json): no size") != std::string::npos);
    auto [code3, out3] = run_command({binary, "fetch", "hf:../etc", "--root", no_sha.root.path().string()});
    CHECK(code3 == 2);
    CHECK(out3.find("is not a Hugging Face model id") != std::string::npos);
}

namespace {

// A modelhost whose root starts empty, mirroring the canned hub at /hf/ as a huggingface mirror.
struct HubMirror {
    TempDir root;
    TestServer server;
    explicit HubMirror(const CannedHub& hub, const std::string& extra = "")
        : server(root.path(), R"({"cors": {"allow_origins": ["https://app.example"]}, "mirrors": [{"path": "/hf/", "upstream": ")" +
                                  hub.hub->base() + R"(/", "kind": "huggingface")" + extra + "}]}") {}
    Response get(const std::string& target, const std::string& headers = "") {
        return request(server.port(), "GET", target, "Origin: https://app.example\r\n" + headers);
    }
};

std::size_t asked(const CannedServer& s, const std::string& part) {
    std::size_t n = 0;
    for (const auto& t : const_cast<CannedServer&>(s).targets()) n += t.find(part) != std::string::npos;
    return n;
}

}  // namespace

TEST_CASE("a huggingface mirror fills itself per commit and answers with the hub's headers, never its Xet ones", "[hf_mirror]") {
    CannedHub hub;
    HubMirror m(hub);
    auto config = m.get("/hf/acme/tiny/resolve/main/config.json");
    REQUIRE(config.result_int() == 200);
    CHECK(config.body() == hub.config);
    CHECK(config[std::string("X-Repo-Commit")] == commit);
    CHECK(config[std::string("Access-Control-Allow-Origin")] == "https://app.example");
    auto probe = m.get("/hf/acme/tiny/resolve/main/onnx/model.onnx", "Range: bytes=0-0\r\nAccept-Encoding: gzip\r\n");
    REQUIRE(probe.result_int() == 206);
    CHECK(probe[std::string("Content-Range")] == "bytes 0-0/" + std::to_string(hub.onnx.size()));
    CHECK(probe[std::string("X-Linked-Etag")] == "\"" + sha256_hex(hub.onnx) + "\"");
    CHECK(probe[std::string("X-Linked-Size")] == std::to_string(hub.onnx.size()));
    CHECK(probe.find("X-Xet-Hash") == probe.end());
    CHECK(probe.find("Location") == probe.end());
    CHECK(probe.find("Content-Encoding") == probe.end());
    // Stored under the commit, not the branch (once whole: the probe only started the transfer).
    CHECK(m.get("/hf/acme/tiny/resolve/main/onnx/model.onnx").body() == hub.onnx);
    CHECK(read_file(m.root.path() / "hf/acme/tiny/resolve" / commit / "onnx/model.onnx") == hub.onnx);
    CHECK(read_file(m.root.path() / "hf/acme/tiny/resolve" / commit / "config.json") == hub.config);

    // A file the revision does not list is a 404 without asking the hub; asking again asks the hub nothing.
    const std::size_t before = hub.hub->targets().size() + hub.cdn->targets().size();
    auto missing = m.get("/hf/acme/tiny/resolve/main/tokenizer.json");
    CHECK(missing.result_int() == 404);
    CHECK(missing[std::string("X-Error-Code")] == "EntryNotFound");
    CHECK(missing[std::string("X-Repo-Commit")] == commit);
    CHECK(m.get("/hf/acme/tiny/resolve/main/onnx/model.onnx").body() == hub.onnx);
    CHECK(m.get("/hf/acme/tiny/resolve/" + commit + "/config.json").body() == hub.config);
    CHECK(hub.hub->targets().size() + hub.cdn->targets().size() == before + 1);  // the commit's revision answer only
    CHECK(asked(*hub.hub, "/revision/main") == 1);
    CHECK(asked(*hub.cdn, "/repos/ab/cd/onnx") == 1);
    CHECK(m.get("/hf/nobody/nothing/resolve/main/config.json")[std::string("X-Error-Code")] == "RepoNotFound");
}

TEST_CASE("a huggingface mirror refuses a file whose SHA-256 is not the one listed, and stores nothing", "[hf_mirror]") {
    CannedHub hub([](nlohmann::json& info) { info["siblings"][2]["lfs"]["sha256"] = std::string(64, 'b'); });
    HubMirror m(hub);
    try {  // streamed while it arrives: the connection is cut before the last byte, the SHA-256 being wrong
        auto first = m.get("/hf/acme/tiny/resolve/main/onnx/model.onnx");
        CHECK(first.result_int() == 502);
    } catch (const std::exception&) {
    }
    auto r = m.get("/hf/acme/tiny/resolve/main/onnx/model.onnx");  // the failure remembered
    CHECK(r.result_int() == 502);
    CHECK_FALSE(fsys::exists(m.root.path() / "hf/acme/tiny/resolve" / commit / "onnx/model.onnx"));
    CHECK(m.get("/hf/acme/tiny/resolve/main/config.json").result_int() == 200);  // the other files are fine
}

TEST_CASE("a huggingface mirror refuses a revision answer with a hostile sibling, and offline serves what is stored", "[hf_mirror]") {
    {
        CannedHub hostile([](nlohmann::json& info) { info["siblings"].push_back({{"rfilename", "../../x.json"}, {"size", 1}}); });
        HubMirror m(hostile);
        CHECK(m.get("/hf/acme/tiny/resolve/main/config.json").result_int() == 502);
        CHECK(asked(*hostile.hub, "/resolve/") == 0);
    }
    CannedHub hub;
    TempDir kept;
    {
        HubMirror m(hub);
        REQUIRE(m.get("/hf/acme/tiny/resolve/main/config.json").result_int() == 200);
        fsys::copy(m.root.path(), kept.path(), fsys::copy_options::recursive | fsys::copy_options::overwrite_existing);
    }
    const std::size_t before = hub.hub->targets().size();
    TestServer offline(kept.path(), R"({"mirrors": [{"path": "/hf/", "upstream": ")" + hub.hub->base() +
                                        R"(/", "kind": "huggingface", "offline": true}]})");
    auto r = request(offline.port(), "GET", "/hf/acme/tiny/resolve/main/config.json");
    CHECK(r.result_int() == 200);
    CHECK(r[std::string("X-Repo-Commit")] == commit);
    CHECK(request(offline.port(), "GET", "/hf/acme/tiny/resolve/main/onnx/model.onnx").result_int() == 404);
    CHECK(hub.hub->targets().size() == before);
}

TEST_CASE("a huggingface mirror checks a small file's git blob id before it stores it", "[hf_mirror]") {
    CannedHub hub([](nlohmann::json& info) { info["siblings"][1]["blobId"] = std::string(40, 'd'); });
    HubMirror m(hub);
    try {  // streamed while it arrives, and cut before the last byte
        m.get("/hf/acme/tiny/resolve/main/config.json");
    } catch (const std::exception&) {
    }
    CHECK(m.get("/hf/acme/tiny/resolve/main/config.json").result_int() == 502);  // the failure remembered
    CHECK_FALSE(fsys::exists(m.root.path() / "hf/acme/tiny/resolve" / commit / "config.json"));
}

TEST_CASE("a huggingface.co file URL stays a TF.js fetch, a repository URL or hf: is a hub fetch", "[hf_fetch]") {
    using modelhost::tools::parse_hf_spec;
    std::string error;
    CHECK_FALSE(parse_hf_spec("https://huggingface.co/acme/tfjs/resolve/main/model.json", "", error));
    CHECK_FALSE(parse_hf_spec("https://tfhub.dev/a/b/1", "", error));
    auto tree = parse_hf_spec("https://huggingface.co/acme/tiny/tree/v2", "", error);
    REQUIRE(tree);
    CHECK(tree->repo == "acme/tiny");
    CHECK(tree->revision == "v2");
    auto hf = parse_hf_spec("hf:acme/tiny@0123", "http://127.0.0.1:9/", error);
    REQUIRE(hf);
    CHECK(hf->endpoint == "http://127.0.0.1:9");
    CHECK(hf->revision == "0123");
    CHECK(error.empty());
}
