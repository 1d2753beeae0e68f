// The npm source of `modelhost fetch`: npm:PACKAGE[@VERSION] (or an npm-CDN URL, https://cdn.jsdelivr.net/npm/
// PACKAGE@VERSION/...) read from a registry's package document, its tarball checked against the document's SRI
// integrity and unpacked by the hostile-tarball rules (fs/tarball.hpp) into ROOT/npm/PACKAGE@VERSION/, the npm-CDN
// layout the server answers (docs/NPM.md).
#pragma once

#include "client/http_client.hpp"
#include "models/npm_package.hpp"
#include "tools/fetch_download.hpp"

#include <optional>
#include <string>
#include <vector>

namespace modelhost::tools {

struct NpmSpec {
    std::string registry = "https://registry.npmjs.org/";  // ends in '/'; --registry, else npm_config_registry
    std::string name;                                      // "onnxruntime-web", "@mediapipe/tasks-vision"
    std::string version = "latest";                        // an exact version, a tag or a range
    std::vector<std::string> include, exclude;             // fnmatch over paths in the package ('*' crosses '/')
};

// "npm:PACKAGE[@VERSION]", or an http(s) URL whose path is /npm/PACKAGE@VERSION[/PATH] (jsDelivr's) and does not end
// in .json (a TF.js model.json on an npm CDN is fetched as a TF.js model): PATH, decoded, is the only file kept (a
// folder PATH/: the files under it). nullopt when `arg` is neither; `error` set when it is one of those but malformed.
std::optional<NpmSpec> parse_npm_spec(const std::string& arg, const std::string& registry, std::string& error);

// Reads the package document, resolves the version, then gives the fetch its work: the tarball downloaded
// (resumable), checked against dist.integrity, unpacked. Throws FetchError.
Source npm_source(const NpmSpec& spec, const client::ClientOptions& client);

}  // namespace modelhost::tools
