// doctest's main: the whole suite is one program, amflow-tests.
// Run a subset with -tc="name*" or -ts="suite*"; list with -ltc.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "core/parallel.hpp"

int main(int argc, char** argv) {
    am::init_runtime(argv);
    doctest::Context context(argc, argv);
    return context.run();
}
