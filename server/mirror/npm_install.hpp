// An npm package version from a registry into a folder, shared by `modelhost fetch npm:` and the npm mirror: where
// its document is, which tarball URLs a document may name, the tarball checked against its SRI integrity (W3C
// Subresource Integrity, sha512) and unpacked by the hostile-tarball rules (fs/tarball.hpp).
#pragma once

#include "models/npm_package.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace modelhost::mirror {

// The document's URL: the registry (ending in '/') and the name, a scope's '/' escaped as npm sends it (%2f).
std::string npm_document_url(const std::string& registry, std::string_view name);

// Why the tarball URL a document names may not be fetched ("" when it may): it must be an http(s) URL on the
// registry's own origin, so a document cannot send a fetch or a mirror to another host.
std::string foreign_tarball(const std::string& tarball, const std::string& registry);

// "" when the `size` bytes of `fd` have the SHA-512 an SRI "sha512-..." integrity names, else what is wrong.
std::string integrity_mismatch(int fd, std::uint64_t size, const std::string& integrity);

// Unpacks the tarball in `fd` (whose integrity the caller checked) into the empty folder `dest`: the files `keep`
// accepts, within the version's declared unpackedSize (and 4 GiB whatever it declares) and fileCount, then the record of what it holds (models::npm_record_name).
// Returns the files kept. Throws fs::TarballError naming the entry, or std::system_error.
std::vector<std::string> unpack_npm_version(int fd, const std::filesystem::path& dest, const models::NpmVersion& version,
                                            std::string_view name, std::string_view exact,
                                            const std::function<bool(std::string_view)>& keep);

}  // namespace modelhost::mirror
