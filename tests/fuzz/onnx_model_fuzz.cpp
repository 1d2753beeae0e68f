// ONNX bytes -> the protobuf reader's facts (models/onnx_model.cpp): any file costs only its own verdict, the
// file-backed reader (whose skips are seeks) says exactly what the in-memory one says, and a tensor whose entry is
// sound names a location inside the model's folder.
#include "fuzz_check.hpp"
#include "models/onnx_model.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto file = std::filesystem::temp_directory_path() / ("modelhost-fuzz-onnx-" + std::to_string(::getpid()));
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto model = modelhost::models::read_onnx(bytes);
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    const auto from_file = modelhost::models::read_onnx_file(file);
    FUZZ_CHECK(from_file.error == model.error);
    FUZZ_CHECK(from_file.external.size() == model.external.size());
    FUZZ_CHECK(model.external.size() <= modelhost::models::max_onnx_external_tensors);
    for (const auto& t : model.external) {
        if (!t.problem.empty()) continue;
        FUZZ_CHECK(!t.location.empty() && t.location.front() != '/');
        const std::string segments = "/" + t.location + "/";
        FUZZ_CHECK(segments.find("/../") == std::string::npos && segments.find("/./") == std::string::npos);
        FUZZ_CHECK(t.bytes().has_value());
    }
    return 0;
}
