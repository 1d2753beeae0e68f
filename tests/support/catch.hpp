// The one place that names the Catch2 header: switching to Catch2 v3 changes only this line.
#pragma once
#include <catch2/catch.hpp>
