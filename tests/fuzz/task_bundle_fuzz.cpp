// .task bytes -> the MediaPipe bundle reader (models/task_bundle.cpp, libzip): any zip, bomb or not, costs only its
// own verdict (of each entry only 8 bytes are read), the file reader agrees with the buffer reader, and an entry
// without a problem has a name that stays in the bundle.
#include "fuzz_check.hpp"
#include "models/task_bundle.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto file = std::filesystem::temp_directory_path() / ("modelhost-fuzz-task-" + std::to_string(::getpid()));
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto bundle = modelhost::models::read_task(bytes);
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    const auto from_file = modelhost::models::read_task_file(file);
    // (libzip's own words for a refused archive may differ between its two sources; the verdict may not)
    FUZZ_CHECK(from_file.error.empty() == bundle.error.empty() && from_file.bare_tflite == bundle.bare_tflite);
    FUZZ_CHECK(from_file.entries.size() == bundle.entries.size());
    for (std::size_t i = 0; i < bundle.entries.size(); ++i) FUZZ_CHECK(from_file.entries[i].problem.empty() == bundle.entries[i].problem.empty());
    FUZZ_CHECK(bundle.entries.size() <= modelhost::models::max_task_entries);
    for (const auto& e : bundle.entries)
        if (e.problem.empty()) FUZZ_CHECK(!e.name.empty() && e.name.front() != '/' && !e.name.starts_with("../"));
    (void)modelhost::models::tflite_problem(bytes.substr(0, 8), size);
    return 0;
}
