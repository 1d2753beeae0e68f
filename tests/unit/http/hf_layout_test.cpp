// parse_hf_path: which paths have the Hugging Face layout's shape, and how they split.
#include "catch.hpp"

#include "http/hf_layout.hpp"

using modelhost::http::parse_hf_path;

TEST_CASE("a two-segment model id splits into model, revision and file", "[hf_layout]") {
    auto p = parse_hf_path("/acme/tiny/resolve/main/onnx/model_quantized.onnx");
    REQUIRE(p);
    CHECK(p->model == "acme/tiny");
    CHECK(p->revision == "main");
    CHECK(p->file == "onnx/model_quantized.onnx");
}

TEST_CASE("a one-segment model id splits the same way", "[hf_layout]") {
    auto p = parse_hf_path("/gpt2/resolve/0123abc/config.json");
    REQUIRE(p);
    CHECK(p->model == "gpt2");
    CHECK(p->revision == "0123abc");
    CHECK(p->file == "config.json");
}

TEST_CASE("paths without resolve in the second or third segment, or without a file, are not the layout", "[hf_layout]") {
    for (const char* path : {"/", "/acme/tiny/config.json", "/acme/tiny/resolve/main", "/acme/tiny/resolve/main/",
                             "/acme/tiny/x/resolve/main/config.json", "/resolve/main/config.json", "/acme/resolve"}) {
        INFO(path);
        CHECK_FALSE(parse_hf_path(path));
    }
}

TEST_CASE("a path ending in a slash keeps it in the file part, so the file step sees a folder", "[hf_layout]") {
    auto p = parse_hf_path("/acme/tiny/resolve/main/onnx/");
    REQUIRE(p);
    CHECK(p->file == "onnx/");
}
