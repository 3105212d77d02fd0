// amflow: the command-line program. Each subcommand lives in cmd_*.cpp and
// registers itself here; every error reaches the user as one line naming the
// problem, and a non-zero exit.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/parallel.hpp"

int main(int argc, char** argv) {
    am::init_runtime(argv);
    CLI::App app{"amflow: flow matching and reward fine-tuning by Adjoint Matching (reference implementation)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "amflow 0.1");
    am::cli::register_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "amflow: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
