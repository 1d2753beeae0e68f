// `modelhost reload`: sends SIGHUP to the server named by server.pid_file and reports whether it took the new
// configuration (read from its <health.prefix>/metrics: the generation moved, or a refusal was counted).
#pragma once

#include <string>
#include <vector>

namespace modelhost::tools {

int reload_command(const std::vector<std::string>& args);

}  // namespace modelhost::tools
