// The Hugging Face layout and the hub's model API over real sockets: a folder ROOT/acme/tiny answered as the hub
// answers acme/tiny, with CORS on every answer.
#include "catch.hpp"

#include "digests.hpp"
#include "http_client.hpp"

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

using namespace modelhost::test;
namespace bhttp = boost::beast::http;

namespace {

constexpr const char* origin = "Origin: http://localhost:5173\r\n";
const std::string cors = R"("cors": {"allow_origins": ["http://localhost:5173"]})";



std::string header(const Response& r, const std::string& name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

// A transformers.js-shaped folder: JSON files, a compressible tokenizer and an ONNX file (an LFS type on the hub).
struct TinyRepo {
    TempDir root;
    std::string config = R"({"model_type": "bert"})";
    std::string tokenizer = std::string(200000, 'a') + "{\"model\": {}}";
    std::string onnx = std::string(3000, '\x07') + std::string(3000, '\x01');
    TinyRepo() {
        root.write("acme/tiny/config.json", config);
        root.write("acme/tiny/tokenizer.json", tokenizer);
        root.write("acme/tiny/onnx/model_quantized.onnx", onnx);
        root.write("acme/tiny/.git/HEAD", "hidden");
        root.write("solo/config.json", config);
    }
};

}  // namespace

TEST_CASE("a folder answers the layout's config.json with 200, X-Repo-Commit, a strong ETag and CORS", "[huggingface]") {
    TinyRepo repo;
    TestServer s(repo.root.path(), "{" + cors + "}");
    auto r = request(s.port(), "GET", "/acme/tiny/resolve/main/config.json", origin);
    REQUIRE(r.result_int() == 200);
    CHECK(r.body() == repo.config);
    CHECK(header(r, "X-Repo-Commit").size() == 40);
    CHECK(header(r, "ETag").starts_with("\""));  // strong: no W/
    CHECK(header(r, "Access-Control-Allow-Origin") == "http://localhost:5173");
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(header(r, "X-Linked-Etag").empty());  // not an LFS file

    // The same file by its flat path: the same ETag (one representation, two addresses); a one-segment model too.
    auto flat = request(s.port(), "GET", "/acme/tiny/config.json", origin);
    CHECK(header(flat, "ETag") == header(r, "ETag"));
    CHECK(request(s.port(), "GET", "/solo/resolve/main/config.json").result_int() == 200);

    // The commit the folder answers as is a revision too, and stays the same while nothing changes.
    const std::string commit = header(r, "X-Repo-Commit");
    auto by_commit = request(s.port(), "GET", "/acme/tiny/resolve/" + commit + "/config.json");
    CHECK(by_commit.result_int() == 200);
    CHECK(header(by_commit, "X-Repo-Commit") == commit);
}

TEST_CASE("a Range probe of the ONNX file gives 206, Content-Range exposed, no Content-Encoding, the LFS headers", "[huggingface]") {
    TinyRepo repo;
    TestServer s(repo.root.path(), "{" + cors + "}");
    auto r = request(s.port(), "GET", "/acme/tiny/resolve/main/onnx/model_quantized.onnx",
                     std::string(origin) + "Range: bytes=0-0\r\nAccept-Encoding: gzip, br\r\n");
    REQUIRE(r.result_int() == 206);
    CHECK(header(r, "Content-Range") == "bytes 0-0/" + std::to_string(repo.onnx.size()));
    CHECK(header(r, "Content-Encoding").empty());
    CHECK(r.body() == "\x07");
    const std::string exposed = header(r, "Access-Control-Expose-Headers");
    for (const char* name : {"Content-Range", "X-Repo-Commit", "X-Linked-Size", "X-Linked-Etag", "X-Error-Code", "ETag"})
        CHECK(exposed.find(name) != std::string::npos);
    // The SHA-256 is read off the I/O threads: X-Linked-* come once it is known (an API call with blobs waits for it).
    REQUIRE(request(s.port(), "GET", "/api/models/acme/tiny?blobs=true").result_int() == 200);
    auto again = request(s.port(), "HEAD", "/acme/tiny/resolve/main/onnx/model_quantized.onnx");
    CHECK(header(again, "X-Linked-Size") == std::to_string(repo.onnx.size()));
    CHECK(header(again, "X-Linked-Etag") == "\"" + sha256_hex(repo.onnx) + "\"");
}

TEST_CASE("the layout sends identity with the file's own length, and compresses only when configured", "[huggingface]") {
    TinyRepo repo;
    {
        TestServer s(repo.root.path(), "{" + cors + "}");
        auto r = request(s.port(), "GET", "/acme/tiny/resolve/main/tokenizer.json", "Accept-Encoding: gzip, br\r\n");
        REQUIRE(r.result_int() == 200);
        CHECK(header(r, "Content-Encoding").empty());
        CHECK(header(r, "Content-Length") == std::to_string(repo.tokenizer.size()));
        CHECK(header(r, "Vary").find("Accept-Encoding") == std::string::npos);
        // The flat path still compresses.
        CHECK(header(request(s.port(), "GET", "/acme/tiny/tokenizer.json", "Accept-Encoding: gzip\r\n"), "Content-Encoding") == "gzip");
    }
    TestServer s(repo.root.path(), R"({"huggingface": {"compress": true}})");
    auto r = request(s.port(), "GET", "/acme/tiny/resolve/main/tokenizer.json", "Accept-Encoding: gzip\r\n");
    CHECK(header(r, "Content-Encoding") == "gzip");
    CHECK(header(r, "X-Repo-Commit").size() == 40);
}

TEST_CASE("missing files, revisions and repositories get the hub's 404s with X-Error-Code and CORS", "[huggingface]") {
    TinyRepo repo;
    TestServer s(repo.root.path(), "{" + cors + "}");
    struct Case {
        const char* target;
        const char* code;
    };
    for (const Case& c : {Case{"/acme/tiny/resolve/main/no-such.json", "EntryNotFound"},
                          Case{"/acme/tiny/resolve/main/onnx/", "EntryNotFound"},
                          Case{"/acme/tiny/resolve/v2.0/config.json", "RevisionNotFound"},
                          Case{"/acme/tiny/resolve/0123456789abcdef0123456789abcdef01234567/config.json", "RevisionNotFound"},
                          Case{"/acme/nothing/resolve/main/config.json", "RepoNotFound"},
                          Case{"/api/models/acme/nothing", "RepoNotFound"},
                          Case{"/api/models/acme/tiny/revision/v2.0", "RevisionNotFound"},
                          Case{"/api/models/acme/tiny/tree/main/no-such-folder", "EntryNotFound"}}) {
        INFO(c.target);
        auto r = request(s.port(), "GET", c.target, origin);
        CHECK(r.result_int() == 404);
        CHECK(header(r, "X-Error-Code") == c.code);
        CHECK(header(r, "Access-Control-Allow-Origin") == "http://localhost:5173");
        CHECK(nlohmann::json::parse(r.body()).contains("error"));
    }
    // A hidden path stays hidden under the layout.
    CHECK(request(s.port(), "GET", "/acme/tiny/resolve/main/.git/HEAD").result_int() == 404);
}

TEST_CASE("the layout never shadows a real file or folder, and can be switched off", "[huggingface]") {
    TempDir root;
    root.write("site/resolve/main/page.html", "<p>a real file</p>");
    root.write("acme/tiny/config.json", "{}");
    {
        TestServer s(root.path());
        auto r = request(s.port(), "GET", "/site/resolve/main/page.html");
        CHECK(r.result_int() == 200);
        CHECK(r.body() == "<p>a real file</p>");
        CHECK(header(r, "X-Repo-Commit").empty());
    }
    TestServer s(root.path(), R"({"huggingface": {"enabled": false}})");
    CHECK(request(s.port(), "GET", "/acme/tiny/resolve/main/config.json").result_int() == 404);
    CHECK(request(s.port(), "GET", "/api/models/acme/tiny").result_int() == 404);
}

TEST_CASE("the model API lists siblings with the commit, and sizes and LFS facts with blobs=true", "[huggingface]") {
    TinyRepo repo;
    TestServer s(repo.root.path(), "{" + cors + "}");
    const std::string commit = header(request(s.port(), "GET", "/acme/tiny/resolve/main/config.json"), "X-Repo-Commit");
    for (const std::string target : {"/api/models/acme/tiny", "/api/models/acme/tiny/revision/main", "/api/models/acme/tiny/revision/HEAD"}) {
        INFO(target);
        auto r = request(s.port(), "GET", target, origin);
        REQUIRE(r.result_int() == 200);
        CHECK(header(r, "Access-Control-Allow-Origin") == "http://localhost:5173");
        auto doc = nlohmann::json::parse(r.body());
        CHECK(doc["id"] == "acme/tiny");
        CHECK(doc["sha"] == commit);
        std::set<std::string> names;
        for (const auto& sib : doc["siblings"]) names.insert(sib["rfilename"].get<std::string>());
        CHECK(names == std::set<std::string>{"config.json", "onnx/model_quantized.onnx", "tokenizer.json"});
    }
    auto doc = nlohmann::json::parse(request(s.port(), "GET", "/api/models/acme/tiny?blobs=true").body());
    for (const auto& sib : doc["siblings"]) {
        if (sib["rfilename"] == "onnx/model_quantized.onnx") {
            CHECK(sib["size"] == repo.onnx.size());
            CHECK(sib["lfs"]["sha256"] == sha256_hex(repo.onnx));
            CHECK(sib["lfs"]["size"] == repo.onnx.size());
            CHECK(sib["lfs"]["pointerSize"].get<int>() > 100);
        } else {
            CHECK_FALSE(sib.contains("lfs"));
        }
        CHECK(sib["blobId"].get<std::string>().size() == 40);
    }
    // A one-segment model id.
    CHECK(nlohmann::json::parse(request(s.port(), "GET", "/api/models/solo").body())["id"] == "solo");
}

TEST_CASE("the tree lists a folder or all of it with git oids, paginated by an absolute Link", "[huggingface]") {
    TinyRepo repo;
    for (int i = 0; i < 1203; ++i) repo.root.write("acme/tiny/many/f" + std::to_string(10000 + i) + ".txt", std::to_string(i));
    TestServer s(repo.root.path());
    auto top = nlohmann::json::parse(request(s.port(), "GET", "/api/models/acme/tiny/tree/main").body());
    std::set<std::string> names;
    for (const auto& e : top) names.insert(e["type"].get<std::string>() + " " + e["path"].get<std::string>());
    CHECK(names == std::set<std::string>{"file config.json", "file tokenizer.json", "directory many", "directory onnx"});
    for (const auto& e : top)
        if (e["path"] == "config.json") CHECK(e["oid"] == git_blob_id(repo.config));
    auto onnx = nlohmann::json::parse(request(s.port(), "GET", "/api/models/acme/tiny/tree/main/onnx").body());
    REQUIRE(onnx.size() == 1);
    CHECK(onnx[0]["path"] == "onnx/model_quantized.onnx");
    CHECK(onnx[0]["lfs"]["oid"] == sha256_hex(repo.onnx));

    std::string target = "/api/models/acme/tiny/tree/main?recursive=true&expand=false";
    std::size_t files = 0, pages = 0;
    while (!target.empty()) {
        auto r = request(s.port(), "GET", target);
        REQUIRE(r.result_int() == 200);
        ++pages;
        for (const auto& e : nlohmann::json::parse(r.body())) files += e["type"] == "file";
        const std::string link = header(r, "Link");
        target.clear();
        if (link.empty()) break;
        const std::string prefix = "<http://127.0.0.1";  // the request's own Host
        REQUIRE(link.starts_with(prefix));
        REQUIRE(link.ends_with(">; rel=\"next\""));
        CHECK(link.find("recursive=true&expand=false&cursor=") != std::string::npos);
        target = link.substr(prefix.size(), link.size() - prefix.size() - std::string(">; rel=\"next\"").size());
    }
    CHECK(pages == 2);
    CHECK(files == 1203 + 3);
}

TEST_CASE("names not in UTF-8, foreign cursors and endpoint look-alikes are answered, never crash or leak", "[huggingface]") {
    TinyRepo repo;
    repo.root.write("acme/tiny/caf\xe9.txt", "latin-1 name");
    TestServer s(repo.root.path());
    auto info = request(s.port(), "GET", "/api/models/acme/tiny?blobs=true");
    REQUIRE(info.result_int() == 200);
    CHECK(nlohmann::json::parse(info.body())["siblings"].size() == 4);
    CHECK(request(s.port(), "GET", "/api/models/acme/tiny/tree/main?cursor=00").result_int() == 400);
    CHECK(request(s.port(), "GET", "/api/models/acme/tiny/tree/main?cursor=zz").result_int() == 400);
    // The layout's rewrite of /v1/resolve/main/models is /v1/models: never the catalog.
    auto lookalike = request(s.port(), "GET", "/v1/resolve/main/models");
    CHECK(lookalike.result_int() == 404);
    CHECK(header(lookalike, "X-Error-Code") == "RepoNotFound");
}

TEST_CASE("WebLLM's tensor-cache.json and ndarray-cache.json answer for each other when a folder holds only one", "[huggingface][webllm]") {
    TempDir root;
    const std::string cache = R"({"records": []})";
    root.write("old/ndarray-cache.json", cache);
    root.write("new/tensor-cache.json", cache);
    root.write("both/tensor-cache.json", "tensor");
    root.write("both/ndarray-cache.json", "ndarray");
    TestServer s(root.path(), "{" + cors + "}");
    for (const std::string folder : {"old", "new"}) {
        INFO(folder);
        auto tensor = request(s.port(), "GET", "/" + folder + "/tensor-cache.json", origin);
        auto ndarray = request(s.port(), "GET", "/" + folder + "/resolve/main/ndarray-cache.json", origin);
        CHECK(tensor.result_int() == 200);
        CHECK(ndarray.result_int() == 200);
        CHECK(tensor.body() == cache);
        CHECK(ndarray.body() == cache);
        CHECK(header(tensor, "ETag") == header(ndarray, "ETag"));  // one file: one validator
        CHECK(header(tensor, "Last-Modified") == header(ndarray, "Last-Modified"));
        CHECK(header(tensor, "Access-Control-Allow-Origin") == "http://localhost:5173");
        auto revalidated = request(s.port(), "GET", "/" + folder + "/ndarray-cache.json", "If-None-Match: " + header(tensor, "ETag") + "\r\n");
        CHECK(revalidated.result_int() == 304);
    }
    CHECK(request(s.port(), "GET", "/both/tensor-cache.json").body() == "tensor");  // each its own when both are there
    CHECK(request(s.port(), "GET", "/both/ndarray-cache.json").body() == "ndarray");
    CHECK(request(s.port(), "GET", "/none/tensor-cache.json").result_int() == 404);
}
