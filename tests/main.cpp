// doctest's main: the whole suite is one program, build/tests.
// Run a subset with -tc="name*" or -ts="suite*"; list with -ltc.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
