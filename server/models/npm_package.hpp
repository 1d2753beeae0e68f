// npm's package documents (the registry's "packument", https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md,
// and its abbreviated form, responses/package-metadata.md) read as hostile input; package names
// (validate-npm-package-name's rules for new packages), versions (Semantic Versioning 2.0.0) and the ranges the
// npm CDNs resolve in a URL (/npm/pkg@latest, @0.10, @^1.2.0). Used by `modelhost fetch npm:`, the npm mirror and the
// npm-CDN layout's redirects.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::models {

constexpr std::size_t max_npm_document_bytes = 64u << 20;  // onnxruntime-web's full document, every dev build: ~30 MB
constexpr std::size_t max_npm_versions = 100000;
constexpr std::uint64_t max_npm_tarball_bytes = 1ull << 30;

// Beside an unpacked version's files (hidden, so never served): {"name", "version", "integrity", "files": [...]}, what
// the folder holds and where it came from.
constexpr std::string_view npm_record_name = ".modelhost-npm.json";

// A name of at most 214 characters: "name" or "@scope/name", each part of URL-safe characters (letters of either
// case, as old packages have them, digits, "-", ".", "_", "~"), not starting with "." or "_".
bool valid_npm_name(std::string_view name);

// "name[@spec][/path]" (what follows /npm/ in an npm-CDN URL; "@scope/name[@spec][/path]" for a scoped package)
// split into views of it; nullopt when the name is not valid_npm_name or a given spec is empty.
struct NpmRef {
    std::string_view name, spec;  // spec: "1.2.3", "latest", "^1.2"; empty when none was given
    bool has_spec = false;
    bool has_path = false;  // a '/' followed the name or spec
    std::string_view path;  // after that '/': "dist/ort.min.mjs", "" for the package's folder itself
};
std::optional<NpmRef> split_npm_ref(std::string_view ref);
// The parts of `ref` when it names a file of an exact version ("name@1.2.3/path", path not empty); else nullopt.
std::optional<NpmRef> npm_version_file(std::string_view ref);

// A version as Semantic Versioning 2.0.0 spells it: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
struct SemVer {
    std::uint64_t major = 0, minor = 0, patch = 0;
    std::vector<std::string> prerelease;  // dot-separated identifiers; empty for a release
};
std::optional<SemVer> parse_semver(std::string_view version);
// Precedence (§11): < 0, 0 or > 0; build metadata is not compared.
int compare(const SemVer& a, const SemVer& b);

// The version `spec` names among `versions` (exact version strings): an exact version (when held), a tag of `tags`
// (its version, when held), else the highest release matching a range: "1", "1.2", "1.x", "1.2.x", "*" or "" (any),
// "^1.2.3", "~1.2.3". Prereleases match only an exact version or a tag. Without tags, "latest" is the highest
// release held (the highest prerelease when none is). nullopt when nothing matches or `spec` is none of these.
std::optional<std::string> resolve_npm_version(std::string_view spec, const std::vector<std::string>& versions,
                                               const std::map<std::string, std::string, std::less<>>& tags = {});

// One version of a package document: where its tarball is and what it must be.
struct NpmVersion {
    std::string tarball;    // dist.tarball: an absolute URL
    std::string integrity;  // dist.integrity: "sha512-" and the base64 of the tarball's SHA-512 (the strongest given)
    std::optional<std::uint64_t> file_count, unpacked_size;  // dist.fileCount, dist.unpackedSize when given
};

struct NpmDocument {
    std::string error;  // empty when read; else what is wrong, naming the key
    std::string name;
    std::map<std::string, std::string, std::less<>> tags;   // dist-tags
    std::map<std::string, NpmVersion, std::less<>> versions;  // by exact version; only those with a sha512 integrity
    std::vector<std::string> unverifiable;                   // versions without one (never fetched)
    bool ok() const { return error.empty(); }
    std::vector<std::string> version_names() const;
};

// Reads a package document (full or abbreviated) of the package `name` (any, when empty) by SAX events: only the
// values used are kept (name, dist-tags, versions.*.dist.{tarball,integrity,fileCount,unpackedSize}), in time linear
// in the document's size. At most max_npm_document_bytes and
// max_npm_versions; the name must be `name`, each version key a valid version, each tag's value a string.
NpmDocument read_npm_document(std::string_view text, std::string_view name);

// The 64 bytes a "sha512-BASE64" integrity names (the first sha512 of a space-separated SRI list); nullopt when it
// has none or its base64 is not 64 bytes.
std::optional<std::string> sha512_of_integrity(std::string_view integrity);

}  // namespace modelhost::models
