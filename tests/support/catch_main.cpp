// Catch2's runner for each test executable.
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
