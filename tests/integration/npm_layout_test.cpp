// The npm-CDN layout's serving rules: ROOT/npm/{package}@{version}/ is immutable, and every script type a runtime
// loads is JavaScript.
#include "catch.hpp"

#include "http_client.hpp"

#include <string>

using namespace modelhost::test;

TEST_CASE("an npm package's exact-version folder is immutable, a scope's own folder and other files are not", "[npm]") {
    TempDir root;
    root.write("npm/onnxruntime-web@1.31.0/dist/ort-wasm-simd-threaded.asyncify.wasm", "\0asm");
    root.write("npm/onnxruntime-web@1.31.0/package.json", "{}");
    root.write("npm/@mediapipe/tasks-vision@0.10.35/wasm/vision_wasm_internal.js", "//");
    root.write("npm/@mediapipe/notes.txt", "not a version");
    root.write("models/face/model.json", "{}");
    root.write("models/face/shard.bin", "x");
    TestServer s(root.path());
    auto cache = [&](const std::string& path) { return std::string(request(s.port(), "GET", path)[std::string("Cache-Control")]); };
    const std::string immutable = "public, max-age=31536000, immutable";
    CHECK(cache("/npm/onnxruntime-web@1.31.0/dist/ort-wasm-simd-threaded.asyncify.wasm") == immutable);
    CHECK(cache("/npm/onnxruntime-web@1.31.0/package.json") == immutable);
    CHECK(cache("/npm/@mediapipe/tasks-vision@0.10.35/wasm/vision_wasm_internal.js") == immutable);
    CHECK(cache("/npm/@mediapipe/notes.txt") == "public, max-age=86400");
    CHECK(cache("/models/face/model.json") == "no-cache");
    CHECK(cache("/models/face/shard.bin") == "public, max-age=86400");
}

TEST_CASE(".js, .mjs and .cjs are all text/javascript, .wasm application/wasm", "[npm]") {
    TempDir root;
    for (const char* ext : {"js", "mjs", "cjs"}) root.write(std::string("npm/p@1.0.0/a.") + ext, "//");
    root.write("npm/p@1.0.0/a.wasm", "\0asm");
    TestServer s(root.path());
    for (const char* ext : {"js", "mjs", "cjs"}) {
        INFO(ext);
        CHECK(request(s.port(), "GET", std::string("/npm/p@1.0.0/a.") + ext)[std::string("Content-Type")] == "text/javascript; charset=utf-8");
    }
    CHECK(request(s.port(), "GET", "/npm/p@1.0.0/a.wasm")[std::string("Content-Type")] == "application/wasm");
}
