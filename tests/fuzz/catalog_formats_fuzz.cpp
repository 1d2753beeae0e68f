// Hostile bytes as each format's file under a root -> models/catalog_formats.cpp: a verdict for the model, never an
// exception, and every file it lists lies inside the root.
#include "fuzz_check.hpp"
#include "models/catalog.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto root = std::filesystem::temp_directory_path() / ("modelhost-fuzz-formats-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "m" / "onnx");
    for (const char* f : {"m/model.onnx", "m/onnx/model.onnx", "m/config.json", "m/b.task", "m/tensor-cache.json", "m/mlc-chat-config.json"}) {
        std::ofstream out(root / f, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    for (const auto& m : {modelhost::models::check_onnx(root, "m/model.onnx"), modelhost::models::check_transformers(root, "m"),
                          modelhost::models::check_mediapipe(root, "m/b.task"), modelhost::models::check_webllm(root, "m")})
        for (const auto& f : m.files) FUZZ_CHECK(!f.path.starts_with("..") && !f.path.starts_with('/'));
    return 0;
}
