// `modelhost check DIR`: validates every TF.js model under DIR; exit 0 only if all are valid.
#pragma once

#include <string>
#include <vector>

namespace modelhost::tools {

int check_command(const std::vector<std::string>& args);

}  // namespace modelhost::tools
