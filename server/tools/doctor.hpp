// `modelhost doctor URL --origin ORIGIN`: what a browser at ORIGIN would make of URL (and a model's shards).
#pragma once

#include <string>
#include <vector>

namespace modelhost::tools {

int doctor_command(const std::vector<std::string>& args);

}  // namespace modelhost::tools
