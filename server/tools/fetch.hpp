// `modelhost fetch URL`: mirrors a remote TF.js model into the served root, verified, installed atomically.
#pragma once

#include <string>
#include <vector>

namespace modelhost::tools {

int fetch_command(const std::vector<std::string>& args);

// The model.json URL TF.js derives: a tfhub-style model URL gets "/model.json?tfjs-format=file".
std::string model_json_url(const std::string& url);

}  // namespace modelhost::tools
