// modelhost: everything lives in the library; this only hands over the arguments.
#include "app/cli.hpp"

int main(int argc, char** argv) { return modelhost::app::main(argc, argv); }
