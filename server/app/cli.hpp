// Command-line entry: dispatches to the sub-commands and maps failures to exit codes (0 ok, 1 problem, 2 usage/config).
#pragma once

namespace modelhost::app {

int main(int argc, char** argv);

}  // namespace modelhost::app
