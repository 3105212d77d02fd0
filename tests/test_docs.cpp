// docs: the command lines the documentation shows are ones the program
// accepts. Every `amflow SUBCOMMAND ... --flag` in the README and the notes
// (code blocks and inline commands, with their `\` continuation lines) names
// a subcommand that exists and only flags that its --help lists.
// Design: docs/design.md#tests-notebooks-benchmarks
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "test_support.hpp"

using namespace am::testing;

namespace {

struct DocCommand {
    std::string file;
    int line;
    std::string subcommand;
    std::vector<std::string> flags;
};

// The `amflow SUB --a ... --b` commands of a Markdown file, continuation
// lines joined: `amflow` at the start of a line, after build/ or ./, or
// right after a backquote (prose such as "amflow re-executes" is not a
// command); a command ends at the end of its (joined) line, at a backquote,
// or at a shell separator (; | && #).
std::vector<DocCommand> doc_commands(const std::string& path) {
    std::ifstream f(path);
    const std::string what = "cannot read " + path;
    REQUIRE_MESSAGE(f.good(), what);
    std::vector<std::string> lines;
    for (std::string l; std::getline(f, l);) lines.push_back(l);
    std::vector<DocCommand> cmds;
    const std::regex command(R"((?:^\s*|build/|\./|`)amflow ([a-z][a-z0-9-]*)([^`;|&#]*))");
    const std::regex flag(R"((?:^|\s)(--[a-z][a-z0-9-]*))");
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string joined = lines[i];
        const std::size_t first = i;
        while (!joined.empty() && joined.back() == '\\' && i + 1 < lines.size()) joined.pop_back(), joined += lines[++i];
        for (std::sregex_iterator m(joined.begin(), joined.end(), command), end; m != end; ++m) {
            DocCommand c{path, int(first + 1), (*m)[1], {}};
            const std::string rest = (*m)[2];
            for (std::sregex_iterator g(rest.begin(), rest.end(), flag); g != end; ++g) c.flags.push_back((*g)[1]);
            cmds.push_back(c);
        }
    }
    return cmds;
}

}  // namespace

TEST_CASE("docs: every amflow command line in the README and the notes names real subcommands and flags") {
    const std::set<std::string> not_subcommands = {"program", "binary", "tests", "bench"};
    int checked = 0;
    for (const std::string file : {"README.md", "notes/mnist.md", "BENCHMARKS.md", "docs/design.md"}) {
        for (const DocCommand& c : doc_commands(file)) {
            if (not_subcommands.count(c.subcommand)) continue;
            CAPTURE(c.file);
            CAPTURE(c.line);
            CAPTURE(c.subcommand);
            const CliResult help = amflow({c.subcommand, "--help"});
            const std::string where = c.file + ":" + std::to_string(c.line) + ": amflow " + c.subcommand;
            CHECK_MESSAGE(help.status == 0, where << ": no such subcommand");
            if (help.status != 0) continue;
            for (const std::string& fl : c.flags) {
                const std::regex listed("(^|[\\s,])" + fl + "([\\s,=]|$)");
                CHECK_MESSAGE(std::regex_search(help.out, listed), where << " has no flag " << fl);
            }
            ++checked;
        }
    }
    // the README alone shows more than a dozen commands: the scan must find them
    CHECK(checked >= 12);
    MESSAGE("docs: " << checked << " amflow command lines checked against --help");
}

TEST_CASE("docs: the command-line scanner finds continued commands and flags, and stops at separators") {
    const TempDir dir("amflow_test_docs");
    const std::string md = dir / "x.md";
    write_text(md, "run `amflow sample --n 4 --out a.csv` then\n"
                   "build/amflow finetune --model m.ckpt \\\n    --lambda 0.5 --out f.ckpt  # then --bogus\n"
                   "not amflowx --x\n");
    const std::vector<DocCommand> c = doc_commands(md);
    REQUIRE(c.size() == 2);
    CHECK(c[0].subcommand == "sample");
    CHECK(c[0].flags == std::vector<std::string>{"--n", "--out"});
    CHECK(c[1].subcommand == "finetune");
    CHECK(c[1].line == 2);
    CHECK(c[1].flags == std::vector<std::string>{"--model", "--lambda", "--out"});
}
