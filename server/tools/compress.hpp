// `modelhost compress DIR`: writes .br and .gz sidecars that `serve` picks by Accept-Encoding.
#pragma once

#include <string>
#include <vector>

namespace modelhost::tools {

int compress_command(const std::vector<std::string>& args);

}  // namespace modelhost::tools
