// The npm-CDN layout (docs/NPM.md): /npm/{package}@{version}/{path} is ROOT/npm/{package}@{version}/{path}, served
// as any file (exact-version folders are immutable by the default cache_control). A tag or range in the URL
// (/npm/{package}@latest/..., @0.10, @^1.2.0, or no version) answers with a short-lived redirect to the exact
// version: the highest one held in the root, or under an npm mirror the one the registry's document names.
#pragma once

#include "http/message.hpp"
#include "base/parsed_files.hpp"
#include "http/resources.hpp"
#include "http/target.hpp"
#include "models/npm_package.hpp"

#include <optional>
#include <string_view>

namespace modelhost::mirror {
class Mirrors;
}

namespace modelhost::http {

// How long a redirect from a tag or range may be reused (RFC 9111 §5.2.2.1): the version a tag names moves.
inline constexpr std::string_view npm_redirect_cache_control = "public, max-age=60";

// Package documents an npm mirror stored, parsed once per file version.
struct NpmDocuments : ParsedFiles<models::NpmDocument> {
    NpmDocuments()
        : ParsedFiles(models::max_npm_document_bytes, [](std::string_view t) { return models::read_npm_document(t, ""); }) {}
};

// `path` under `prefix` ("/npm/", or an npm mirror's path) with a version that is not exact (a tag, a range, none):
// its parts; nullopt for an exact version or another shape.
std::optional<models::NpmRef> npm_alias(std::string_view path, std::string_view prefix);

// `path` under `prefix` names a file of an exact version: {prefix}{package}@{version}/{file}.
bool npm_package_file(std::string_view path, std::string_view prefix);

// Step 7 for such a path, unless the root holds it as it is: under an npm mirror (`mirrors` covering it, with
// `documents`) the version the registry's document names (true, `waiting` set, when it must be fetched first);
// else the highest version held in ROOT{prefix}. A 302 to {prefix}{package}@{version}[/{path}] with the query kept,
// or 404 when no version matches. False for any other path.
bool answer_npm_alias(const Resources& resources, const mirror::Mirrors* mirrors, const NpmDocuments* documents,
                      const Target& target, const Request& req, bool may_wait, Exchange& ex, bool& waiting);

}  // namespace modelhost::http
