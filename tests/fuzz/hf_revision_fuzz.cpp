// A hub's revision answer -> the reader's facts: any answer is a verdict, never an exception, and every file it lets
// through has a safe relative path, listed once, with a well-formed hash when it has one.
#include "fuzz_check.hpp"
#include "models/hf_revision.hpp"
#include "models/manifest.hpp"

#include <cstdint>
#include <set>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto rev = modelhost::models::read_hf_revision({reinterpret_cast<const char*>(data), size});
    FUZZ_CHECK(rev.ok() || rev.files.empty());
    FUZZ_CHECK(!rev.ok() || rev.commit.size() == 40);
    std::set<std::string> seen;
    for (const auto& f : rev.files) {
        FUZZ_CHECK(modelhost::models::unsafe_shard_path(f.path).empty());
        FUZZ_CHECK(f.sha256.empty() || f.sha256.size() == 64);
        FUZZ_CHECK(seen.insert(f.path).second);
    }
    return 0;
}
