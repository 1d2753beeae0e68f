// The Content-Type table that model loaders depend on.
#include "catch.hpp"

#include "http/mime.hpp"

using modelhost::http::mime_type;

TEST_CASE("model files get the types browsers and loaders expect", "[mime]") {
    const std::vector<std::pair<const char*, const char*>> rows{
        {"model.json", "application/json"},
        {"group1-shard1of4.bin", "application/octet-stream"},
        {"face_landmarker.task", "application/octet-stream"},
        {"model.tflite", "application/octet-stream"},
        {"face_mesh.binarypb", "application/octet-stream"},
        {"face_mesh_solution_packed_assets.data", "application/octet-stream"},
        {"saved_model.pb", "application/octet-stream"},
        {"face_mesh_solution_simd_wasm_bin.wasm", "application/wasm"},
        {"face_mesh.js", "text/javascript; charset=utf-8"},
        {"module.mjs", "text/javascript; charset=utf-8"},
        {"index.html", "text/html; charset=utf-8"},
        {"README.txt", "text/plain; charset=utf-8"},
        {"photo.png", "image/png"},
        {"photo.jpg", "image/jpeg"},
        {"photo.jpeg", "image/jpeg"},
    };
    for (const auto& [file, type] : rows) {
        INFO(file);
        CHECK(mime_type(file) == type);
    }
}

TEST_CASE("extensions match case-insensitively and unknown ones are octet-stream", "[mime]") {
    CHECK(mime_type("MODEL.JSON") == "application/json");
    CHECK(mime_type("Photo.JPG") == "image/jpeg");
    CHECK(mime_type("x.WASM") == "application/wasm");
    CHECK(mime_type("noext") == "application/octet-stream");
    CHECK(mime_type("archive.tar.zst") == "application/octet-stream");
    CHECK(mime_type("trailingdot.") == "application/octet-stream");
    CHECK(mime_type("model.json.bak") == "application/octet-stream");
}
