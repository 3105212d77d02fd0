// The amflow subcommands. Each cmd_*.cpp defines one register_* function
// that adds its subcommand (options + callback) to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace am::cli {

void register_info(CLI::App& app);

inline void register_commands(CLI::App& app) {
    register_info(app);
}

}  // namespace am::cli
