// Design: docs/design.md#command-line
#include "cli/app.hpp"

#include <algorithm>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace am::cli {

int run_amflow(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    CLI::App app{"amflow: flow matching and reward fine-tuning by Adjoint Matching (reference implementation)",
                 "amflow"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "amflow 0.1");
    register_commands(app);
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        known = known || (!args.empty() && sub->get_name() == args[0]);
    }
    if (!args.empty() && !args[0].empty() && args[0][0] != '-' && !known) {
        err << "amflow: error: unknown subcommand '" << args[0] << "' (choose from " << names << ")\n";
        return 2;
    }
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help, --version
        err << "amflow: error: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        err << "amflow: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace am::cli
