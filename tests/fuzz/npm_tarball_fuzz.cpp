// An npm tarball -> the reader's verdict: any bytes are a list of files or a TarballError, never a crash, a hang or
// another exception, and every file it lets through has a path the rules allow (relative, no "..", nothing hidden),
// listed once. Nothing is written (keep says no), so the run measures the reader alone.
#include "fs/tarball.hpp"
#include "fuzz_check.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const int fd = ::memfd_create("tarball", MFD_CLOEXEC);
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size) || ::lseek(fd, 0, SEEK_SET) != 0) return 0;
    modelhost::fs::TarballLimits limits;
    limits.max_entries = 1000;
    limits.max_total_bytes = 64u << 20;
    try {
        const auto files = modelhost::fs::unpack_npm_tarball(fd, "/nonexistent", limits, [](std::string_view) { return false; });
        std::set<std::string> seen;
        for (const auto& f : files) {
            FUZZ_CHECK(!f.path.empty() && f.path.front() != '/' && f.path.front() != '.');
            FUZZ_CHECK(f.path.find("/.") == std::string::npos && f.path.find("//") == std::string::npos);
            FUZZ_CHECK(seen.insert(f.path).second);
        }
    } catch (const modelhost::fs::TarballError&) {
    }
    return 0;
}
