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
#include "finetune/presets.hpp"
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

namespace {

std::string file_text(const std::string& path) {
    std::ifstream f(path);
    const std::string what = "cannot read " + path;
    REQUIRE_MESSAGE(f.good(), what);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// The cells of the README table row whose first cell is `name` (backquotes kept).
std::vector<std::string> table_row(const std::string& markdown, const std::string& name) {
    std::istringstream in(markdown);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("| " + name + " |", 0) != 0) continue;
        std::vector<std::string> cells;
        std::size_t a = 1;
        for (std::size_t b; (b = line.find('|', a)) != std::string::npos; a = b + 1) {
            std::string c = line.substr(a, b - a);
            c.erase(0, c.find_first_not_of(' '));
            c.erase(c.find_last_not_of(' ') + 1);
            cells.push_back(c);
        }
        return cells;
    }
    return {};
}

double cell_number(const std::string& c) { return c == "-" ? -1 : std::stod(c); }

}  // namespace

TEST_CASE("docs: the README's table of presets, the library's presets and --help show the same defaults") {
    using namespace am::finetune;
    const std::string readme = file_text("README.md");
    // columns: preset | default of | network | steps | batch | lr | final fraction | EMA | K | lambda
    const auto check_pretrain = [&](const std::string& name, const PretrainPreset& p) {
        const auto row = table_row(readme, "`" + name + "`");
        REQUIRE_MESSAGE(row.size() == 10, "README.md has no row of " << name);
        CAPTURE(name);
        CHECK(row[2].find(std::to_string(p.width) + ", " + std::to_string(p.depth) + ")") != std::string::npos);
        CHECK(cell_number(row[3]) == double(p.flow.steps));
        CHECK(cell_number(row[4]) == double(p.flow.batch));
        CHECK(cell_number(row[5]) == doctest::Approx(p.flow.adam.lr));
        CHECK(cell_number(row[6]) == doctest::Approx(p.flow.lr_final_fraction));
        CHECK(cell_number(row[7]) == doctest::Approx(p.flow.ema_decay));
    };
    check_pretrain("pretrain_2d_preset()", pretrain_2d_preset());
    check_pretrain("pretrain_image_preset()", pretrain_image_preset());
    const auto check_recipe = [&](const std::string& name, const Recipe& r) {
        const auto row = table_row(readme, "`" + name + "`");
        REQUIRE_MESSAGE(row.size() == 10, "README.md has no row of " << name);
        CAPTURE(name);
        if (r.width > 0)
            CHECK(row[2].find("MLP(" + std::to_string(r.width) + ", " + std::to_string(r.depth) + ")") != std::string::npos);
        CHECK(cell_number(row[3]) == double(r.iters));
        CHECK(cell_number(row[4]) == double(r.cfg.batch));
        CHECK(cell_number(row[5]) == doctest::Approx(r.cfg.adam.lr));
        CHECK(cell_number(row[6]) == doctest::Approx(r.cfg.lr_final_fraction));
        CHECK(cell_number(row[8]) == double(r.K));
        CHECK(cell_number(row[9]) == doctest::Approx(r.cfg.lambda));
    };
    check_recipe("network_base_recipe()", network_base_recipe());
    check_recipe("exact_base_recipe()", exact_base_recipe());
    check_recipe("image_recipe(Method::AM)", image_recipe(Method::AM));
    check_recipe("image_recipe(Method::BPTT)", image_recipe(Method::BPTT));

    // --help: the first preset's values are the options' defaults, the others' in brackets
    const auto shows = [](const std::string& help, const std::string& flag, const std::string& text) {
        const auto at = help.find(flag + " ");
        REQUIRE_MESSAGE(at != std::string::npos, "--help has no " << flag);
        const auto next = help.find("\n  -", at + 1);
        const std::string entry = help.substr(at, next == std::string::npos ? std::string::npos : next - at);
        CHECK_MESSAGE(entry.find(text) != std::string::npos, flag << " in --help does not show '" << text << "': " << entry);
    };
    const CliResult pretrain = amflow({"pretrain", "--help"});
    REQUIRE(pretrain.status == 0);
    const PretrainPreset p2 = pretrain_2d_preset(), pi = pretrain_image_preset();
    shows(pretrain.out, "--steps", "=" + std::to_string(p2.flow.steps));
    shows(pretrain.out, "--steps", "images: " + std::to_string(pi.flow.steps));
    shows(pretrain.out, "--batch", "=" + std::to_string(p2.flow.batch));
    shows(pretrain.out, "--batch", "images: " + std::to_string(pi.flow.batch));
    shows(pretrain.out, "--width", "=" + std::to_string(p2.width));
    shows(pretrain.out, "--width", "images: " + std::to_string(pi.width));
    shows(pretrain.out, "--ema", "images: 0.999");
    shows(pretrain.out, "--lr-final", "=0.05");
    shows(pretrain.out, "--lr-final", "images: 0.1");
    const CliResult finetune = amflow({"finetune", "--help"});
    REQUIRE(finetune.status == 0);
    const Recipe net = network_base_recipe(), exact = exact_base_recipe(), img = image_recipe(Method::AM);
    shows(finetune.out, "--iters", "=" + std::to_string(net.iters));
    shows(finetune.out, "--iters", "exact base: " + std::to_string(exact.iters));
    shows(finetune.out, "--iters", "images: " + std::to_string(img.iters));
    shows(finetune.out, "--batch", "=" + std::to_string(net.cfg.batch));
    shows(finetune.out, "--batch", "images: " + std::to_string(img.cfg.batch));
    shows(finetune.out, "--lr", "=0.0003");
    shows(finetune.out, "--lr", "images: 0.0002, bptt 5e-05");
    shows(finetune.out, "--lambda", "=0.5");
    shows(finetune.out, "--lambda", "images: 1");
    shows(finetune.out, "--steps", "=" + std::to_string(net.K));
}

TEST_CASE("docs: the Makefile's header, the README and the Makefile name the same targets and variables") {
    const std::string makefile = file_text("Makefile");
    // the targets: every .PHONY name
    std::set<std::string> targets;
    {
        std::istringstream in(makefile);
        for (std::string line; std::getline(in, line);)
            if (line.rfind(".PHONY:", 0) == 0) {
                std::istringstream words(line.substr(7));
                for (std::string w; words >> w;) targets.insert(w);
            }
    }
    REQUIRE(targets.count("test"));
    // the header: the comment block the Makefile starts with
    std::string header;
    {
        std::istringstream in(makefile);
        for (std::string line; std::getline(in, line) && line.rfind("#", 0) == 0;) header += line + "\n";
    }
    const std::string readme = file_text("README.md");
    // steps of other targets, never called by hand
    const std::set<std::string> internal = {"all", "config", "notebook-deps", "fuzz-deps"};
    for (const auto& t : targets) {
        if (internal.count(t)) continue;
        CHECK_MESSAGE(std::regex_search(header, std::regex("#\\s+make " + t + "(\\s|$)")),
                      "the Makefile's header comment does not list `make " << t << "`");
        const bool in_readme = readme.find("`make " + t) != std::string::npos || readme.find("\nmake " + t) != std::string::npos;
        CHECK_MESSAGE(in_readme, "README.md does not show `make " << t << "`");
    }
    // every `make ...` in the documentation: VAR=value words, then a target that exists
    const std::regex make_cmd(R"((?:^\s*|`)make((?: [A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|\S*))*)(?: ([a-z][a-z0-9-]*)(/?))?)");
    const std::regex var(R"(([A-Za-z_][A-Za-z0-9_]*)=)");
    const std::set<std::string> standard_vars = {"CXXFLAGS", "CXX", "DESTDIR"};
    int seen = 0;
    for (const std::string file : {"README.md", "notes/mnist.md", "BENCHMARKS.md", "docs/design.md"}) {
        std::istringstream in(file_text(file));
        int n = 0;
        for (std::string line; std::getline(in, line);) {
            ++n;
            for (std::sregex_iterator m(line.begin(), line.end(), make_cmd), end; m != end; ++m) {
                const std::string where = file + ":" + std::to_string(n) + ": " + (*m)[0].str();
                const std::string vars = (*m)[1], target = (*m)[2];
                if (!target.empty() && (*m)[3].str().empty())  // a file target (build/...) is not checked
                    CHECK_MESSAGE(targets.count(target), where << ": the Makefile has no target " << target);
                for (std::sregex_iterator v(vars.begin(), vars.end(), var); v != end; ++v)
                    if (!standard_vars.count((*v)[1]))
                        CHECK_MESSAGE(header.find((*v)[1].str()) != std::string::npos,
                                      where << ": the Makefile's header does not describe " << (*v)[1]);
                ++seen;
            }
        }
    }
    CHECK(seen >= 20);
    MESSAGE("docs: " << seen << " make commands checked against the Makefile");
}
