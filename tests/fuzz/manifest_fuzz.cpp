// Manifest JSON -> the reader's facts and the catalog entry: any model.json costs only its own model (a verdict,
// never an exception), and every file it lists lies inside the root.
#include "fuzz_check.hpp"
#include "models/catalog.hpp"
#include "models/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

std::filesystem::path make_root() {
    auto root = std::filesystem::temp_directory_path() / ("modelhost-fuzz-manifest-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "m");
    std::ofstream(root / "m" / "group1-shard1of1.bin", std::ios::binary) << std::string(64, '\x01');
    std::ofstream(root / "m" / "s.bin", std::ios::binary) << std::string("\x03\0\0\0abc\x01\0\0\0z", 12);
    return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto root = make_root();
    {
        std::ofstream out(root / "m" / "model.json", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    auto entry = modelhost::models::check_model(root, "m/model.json");
    FUZZ_CHECK(!entry.files.empty() && entry.files[0].path == "m/model.json");
    for (const auto& f : entry.files) FUZZ_CHECK(!f.path.starts_with("..") && !f.path.starts_with('/'));
    const auto doc = modelhost::models::read_manifest({reinterpret_cast<const char*>(data), size});
    FUZZ_CHECK(doc.ok() || doc.groups.empty());
    for (const auto& g : doc.groups)
        for (const auto& p : g.paths) FUZZ_CHECK(p.unsafe.empty() || !p.repeated);
    return 0;
}
