// Catch2 v2 runner for the native suite.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
