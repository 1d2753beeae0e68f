// models::read_hf_revision: the hub's revision answer read as hostile input.
#include "catch.hpp"

#include "models/hf_revision.hpp"

#include <nlohmann/json.hpp>

using modelhost::models::read_hf_revision;
using json = nlohmann::json;

namespace {

const std::string commit = "4f2a6c1e9b8d7a6f5e4d3c2b1a09f8e7d6c5b4a3";
const std::string sha = std::string(64, 'a');

std::string answer(json siblings) { return json{{"sha", commit}, {"siblings", std::move(siblings)}}.dump(); }

}  // namespace

TEST_CASE("a revision answer gives the commit and each file's size, LFS SHA-256 and blob id", "[hf_revision]") {
    auto rev = read_hf_revision(answer({{{"rfilename", "config.json"}, {"size", 22}, {"blobId", std::string(40, 'c')}},
                                        {{"rfilename", "onnx/model.onnx"}, {"size", 9}, {"lfs", {{"sha256", sha}, {"size", 9}}}}}));
    REQUIRE(rev.ok());
    CHECK(rev.commit == commit);
    REQUIRE(rev.files.size() == 2);
    CHECK(rev.find("config.json")->blob_id == std::string(40, 'c'));
    CHECK(rev.find("config.json")->sha256.empty());
    CHECK(rev.find("onnx/model.onnx")->sha256 == sha);
    CHECK(rev.find("onnx/model.onnx")->size == 9);
}

TEST_CASE("hidden files are skipped, not refused", "[hf_revision]") {
    auto rev = read_hf_revision(answer({{{"rfilename", ".gitattributes"}, {"size", 10}}, {{"rfilename", "a.json"}, {"size", 1}}}));
    REQUIRE(rev.ok());
    CHECK(rev.files.size() == 1);
    CHECK(rev.skipped == std::vector<std::string>{".gitattributes (hidden)"});
}

TEST_CASE("one hostile or malformed sibling refuses the whole answer, naming it", "[hf_revision]") {
    struct Case {
        json sibling;
        const char* says;
    };
    for (const Case& c : {Case{{{"rfilename", "../x"}, {"size", 1}}, "siblings[1]: refusing \"../x\""},
                          Case{{{"rfilename", "a/./b"}, {"size", 1}}, "refusing"},
                          Case{{{"rfilename", "/etc/passwd"}, {"size", 1}}, "refusing"},
                          Case{{{"rfilename", "a\\b"}, {"size", 1}}, "refusing"},
                          Case{{{"rfilename", "%2e%2e/x"}, {"size", 1}}, "refusing"},
                          Case{{{"rfilename", "ok.bin"}}, "no size"},
                          Case{{{"rfilename", "ok.bin"}, {"size", -1}}, "no size"},
                          Case{{{"rfilename", "ok.bin"}, {"size", 3}, {"lfs", {{"sha256", "short"}, {"size", 3}}}}, "64-hex sha256"},
                          Case{{{"rfilename", "ok.bin"}, {"size", 3}, {"lfs", {{"sha256", sha}, {"size", 4}}}}, "64-hex sha256"},
                          Case{{{"rfilename", "a.json"}, {"size", 1}}, "listed twice"},
                          Case{{{"size", 1}}, "no rfilename"}}) {
        INFO(c.sibling.dump());
        auto rev = read_hf_revision(answer({{{"rfilename", "a.json"}, {"size", 1}}, c.sibling}));
        CHECK_FALSE(rev.ok());
        CHECK(rev.error.find(c.says) != std::string::npos);
        CHECK(rev.files.empty());
    }
}

TEST_CASE("an answer without a 40-hex sha or a siblings array is refused", "[hf_revision]") {
    CHECK_FALSE(read_hf_revision("not json").ok());
    CHECK_FALSE(read_hf_revision(R"({"siblings": []})").ok());
    CHECK_FALSE(read_hf_revision(R"({"sha": "main", "siblings": []})").ok());
    CHECK_FALSE(read_hf_revision(json{{"sha", commit}}.dump()).ok());
    CHECK(read_hf_revision(json{{"sha", commit}, {"siblings", json::array()}}.dump()).ok());
}

TEST_CASE("an answer of more values than the budget is refused without keeping them", "[hf_revision]") {
    std::string many = R"({"sha": ")" + commit + R"(", "siblings": [)";
    for (std::size_t i = 0; i < modelhost::models::max_hf_json_values; ++i) many += "{},";
    many += "{}]}";
    auto rev = read_hf_revision(many);
    CHECK_FALSE(rev.ok());
    CHECK(rev.error.find("more than") != std::string::npos);
}
