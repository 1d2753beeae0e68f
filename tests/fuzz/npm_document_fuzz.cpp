// An npm package document -> the reader's verdict, then what fetch and the mirror do with it: any bytes are a
// document or an error, never an exception; a read document keeps only verifiable versions (a sha512 integrity of 64
// bytes), each a Semantic Version; a tag or range resolves only to a version it holds; the tarball URL rule
// (mirror/npm_install.cpp) and the integrity check answer for every URL and integrity it names. The input's first
// line is also read as an npm-CDN reference (what follows /npm/ in a URL).
#include "fuzz_check.hpp"
#include "mirror/npm_install.hpp"
#include "models/npm_package.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace m = modelhost::models;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string_view line = text.substr(0, std::min(text.find('\n'), text.size()));
    if (auto ref = m::split_npm_ref(line)) {
        FUZZ_CHECK(m::valid_npm_name(ref->name));
        FUZZ_CHECK(!ref->has_spec || !ref->spec.empty());
    }
    const m::NpmDocument doc = m::read_npm_document(text, "");
    FUZZ_CHECK(doc.ok() || doc.versions.empty());
    static const int fd = ::memfd_create("tarball", MFD_CLOEXEC);
    for (const auto& [version, v] : doc.versions) {
        FUZZ_CHECK(m::parse_semver(version).has_value());
        FUZZ_CHECK(m::sha512_of_integrity(v.integrity).has_value());
        // A URL the rule lets through is on the registry's origin: its host (any case) and nothing after it but a
        // port, a path, a query or a fragment.
        if (modelhost::mirror::foreign_tarball(v.tarball, "https://registry.npmjs.org/").empty()) {
            std::string lower = v.tarball;
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            constexpr std::string_view origin = "https://registry.npmjs.org";
            FUZZ_CHECK(lower.starts_with(origin));
            FUZZ_CHECK(lower.size() == origin.size() || std::string_view(":/?#").find(lower[origin.size()]) != std::string_view::npos);
        }
        modelhost::mirror::integrity_mismatch(fd, 0, v.integrity);  // (an empty tarball: a verdict, whatever it names)
    }
    const auto names = doc.version_names();
    for (const std::string_view spec : {std::string_view("latest"), std::string_view("^1.0.0"), line}) {
        if (auto v = m::resolve_npm_version(spec, names, doc.tags))
            FUZZ_CHECK(std::find(names.begin(), names.end(), *v) != names.end());
    }
    FUZZ_CHECK(modelhost::mirror::npm_document_url("https://r/", line).starts_with("https://r/"));
    return 0;
}
