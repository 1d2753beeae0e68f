// `modelhost health [--url URL]`: probes the liveness endpoint, for container HEALTHCHECKs (no curl needed).
#pragma once

#include <string>
#include <vector>

namespace modelhost::tools {

int health_command(const std::vector<std::string>& args);

}  // namespace modelhost::tools
