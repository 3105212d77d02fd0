// amflow: the command-line program. Each subcommand lives in cmd_*.cpp and
// registers itself in commands.hpp; run_amflow (app.cpp) turns every error
// into one line naming the problem and a non-zero exit.
// Design: docs/design.md#command-line
#include <iostream>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "core/parallel.hpp"

int main(int argc, char** argv) {
    am::init_runtime(argv);
    return am::cli::run_amflow(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
