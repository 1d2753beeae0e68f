// `modelhost serve`: load the layered config, start the server, run until signalled.
#pragma once

#include <string>
#include <vector>

namespace modelhost::app {

int serve(const std::vector<std::string>& args);
void print_serve_help();

}  // namespace modelhost::app
