// amflow family: writes cases of the closed-form family (finetune/family.hpp)
// as mixture JSON + case JSON files, and prints one JSON line per case with
// the flags that fine-tune it.
// Design: docs/design.md#a-family-of-closed-form-problems
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "finetune/family.hpp"

namespace am::cli {

namespace {
struct FamilyOptions {
    std::uint64_t seed = 1;
    int count = 4, first = 0;
    std::string out = "family";
    bool ring = false;
};

void print_case(const finetune::FamilyCase& c, const std::string& case_path, const std::string& dir) {
    const auto reward = c.make_reward();
    const auto target = c.target();
    std::printf("{\"name\": \"%s\", \"case\": \"%s\", \"modes\": %ld, \"reward\": \"%s\", \"lambda\": %g, "
                "\"base_to_target_tv\": %.4f, \"reward_exact\": %.4f, \"finetune\": \"amflow finetune %s\"}\n",
                c.name.c_str(), case_path.c_str(), long(c.mixture.size()), c.reward.c_str(), c.lambda,
                finetune::base_to_target_tv(c), finetune::expected_reward(target, *reward),
                finetune::finetune_flags(c, (std::filesystem::path(dir) / (c.name + ".json")).string()).c_str());
}
}  // namespace

void register_family(CLI::App& app) {
    auto o = std::make_shared<FamilyOptions>();
    auto* cmd = app.add_subcommand("family", "Write cases of the closed-form family (mixture + reward + lambda)");
    cmd->add_option("--seed", o->seed, "family seed")->capture_default_str();
    cmd->add_option("--count", o->count, "number of cases")->capture_default_str();
    cmd->add_option("--first", o->first, "index of the first case")->capture_default_str();
    cmd->add_option("--out", o->out, "folder to write NAME.json and NAME.case.json into")->capture_default_str();
    cmd->add_flag("--ring", o->ring, "also write the default ring case (r = x_0, lambda 0.5)");
    cmd->callback([o] {
        require_positive(o->count, "--count");
        AM_CHECK(o->first >= 0, "--first: must be >= 0, got " + std::to_string(o->first));
        std::vector<finetune::FamilyCase> cases;
        if (o->ring) cases.push_back(finetune::ring_case());
        for (int i = 0; i < o->count; ++i) cases.push_back(finetune::family_case(o->seed, o->first + i));
        for (const auto& c : cases) print_case(c, finetune::save_case(o->out, c), o->out);
    });
}

}  // namespace am::cli
