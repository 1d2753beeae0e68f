// `modelhost fetch URL`: mirrors a remote TF.js model into the served root, verified, installed atomically.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modelhost::tools {

int fetch_command(const std::vector<std::string>& args);

// The model.json URL TF.js derives: a tfhub-style model URL gets "/model.json?tfjs-format=file".
std::string model_json_url(const std::string& url);

// The folder a model is installed in when --name is not given: the URL's last folder, with the version folders that
// follow it kept (".../face_mesh/v3/model.json" -> "face_mesh/v3", tfhub's ".../face_mesh/1" -> "face_mesh/1").
std::string default_name(const std::string& model_url);

// Why a manifest's shard path must not be downloaded ("" when it may): the manifest reader's rules
// (models::unsafe_shard_path: relative, no empty, ".", ".." or hidden segments, backslashes, colons, control
// characters or NUL, before and after percent-decoding), and it must not name a file served as active content
// (HTML, SVG, JavaScript, XML).
std::string unsafe_shard_path(std::string_view path);

}  // namespace modelhost::tools
