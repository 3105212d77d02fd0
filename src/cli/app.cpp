// Design: docs/design.md#command-line
#include "cli/app.hpp"

#include <algorithm>
#include <exception>
#include <new>
#include <regex>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace am::cli {

namespace {

// What an option of `sub` takes, in words, from CLI11's type name (INT, FLOAT, TEXT, ...).
std::string value_kind(const CLI::App* sub, const std::string& name) {
    const CLI::Option* opt = nullptr;
    try {
        if (sub != nullptr) opt = sub->get_option(name);
    } catch (const CLI::OptionNotFound&) {
    }
    const std::string type = opt != nullptr ? opt->get_type_name() : "";
    if (type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0) return "a whole number";
    if (type.rfind("FLOAT", 0) == 0) return "a number";
    return "a value";
}

// CLI11's message for a command-line error, rewritten as one sentence that
// names the option and says what was expected. `sub` is the subcommand
// being parsed (nullptr when none was recognised); `subcommands` lists them all. Messages are those of
// CLI11 2.x; one it does not know is passed on unchanged.
std::string explain(const CLI::ParseError& e, const CLI::App* sub, const std::string& subcommands) {
    const std::string msg = e.what();
    const std::string where = sub != nullptr ? sub->get_name() : std::string("amflow");
    const std::string help = " (" + std::string(sub != nullptr ? "amflow " : "") + where + " --help lists the options)";
    std::smatch m;
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr &&
        std::regex_search(msg, m, std::regex(R"(not expected: (.*)$)"))) {
        const std::string extra = m[1];
        if (!extra.empty() && extra[0] == '-') return where + ": unknown option " + extra + help;
        return where + ": unexpected argument '" + extra + "'; every option is written --name value" + help;
    }
    if (std::regex_search(msg, m, std::regex(R"(^(\S+): \d+ required .* missing)")))
        return where + ": " + std::string(m[1]) + " needs a value (" + value_kind(sub, m[1]) + ")" + help;
    if (std::regex_search(msg, m, std::regex(R"(^(\S+): At Most 1 required but received (\d+))")))
        return where + ": " + std::string(m[1]) + " is given " + std::string(m[2]) + " times; give it once";
    if (std::regex_search(msg, m, std::regex(R"(^Could not convert: (\S+) = (.*)$)")))
        return where + ": " + std::string(m[1]) + " takes " + value_kind(sub, m[1]) + ", not '" + std::string(m[2]) +
               "'";
    if (msg.find("subcommand is required") != std::string::npos)
        return "give a subcommand first, one of " + subcommands + " (amflow --help)";
    return where + ": " + msg + help;
}

}  // namespace

std::string failure_message(const std::exception& e, const std::string& where) {
    if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr)
        return where + ": out of memory: a size given on the command line (--n, --batch, --width, ...) or " +
               "read from a file is too large for this machine";
    return e.what();
}

int run_amflow(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    CLI::App app{"amflow: flow matching and reward fine-tuning by Adjoint Matching (reference implementation)",
                 "amflow"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "amflow 0.1");
    register_commands(app);
    std::string names;
    const CLI::App* sub = nullptr;  // the subcommand named by args[0], if any
    for (const CLI::App* s : app.get_subcommands({})) {
        names += (names.empty() ? "" : ", ") + s->get_name();
        if (!args.empty() && s->get_name() == args[0]) sub = s;
    }
    if (!args.empty() && !args[0].empty() && args[0][0] != '-' && sub == nullptr) {
        err << "amflow: error: unknown subcommand '" << args[0] << "' (choose from " << names << ")\n";
        return 2;
    }
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help, --version
        err << "amflow: error: " << explain(e, sub, names) << "\n";
        return 2;
    } catch (const std::exception& e) {
        err << "amflow: error: " << failure_message(e, sub != nullptr ? sub->get_name() : "amflow") << "\n";
        return 1;
    }
    return 0;
}

}  // namespace am::cli
