// amflow info: what this build has (threads, BLAS, OpenMP), for bug reports
// and for reading benchmark numbers.
// Design: docs/design.md#command-line
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/parallel.hpp"

namespace am::cli {

void register_info(CLI::App& app) {
    auto* cmd = app.add_subcommand("info", "Print the build configuration and thread settings");
    cmd->callback([] { std::printf("%s\n", build_info().c_str()); });
}

}  // namespace am::cli
