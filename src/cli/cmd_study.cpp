// amflow study: the fine-tuning methods on cases of the closed-form family,
// each run judged against its case's exact tilt (recipes::run_family_study:
// resumable, one JSON line per run in OUT/results.jsonl, OUT/table.md and
// OUT/grid.png rewritten after every run); this file holds its options.
// Design: docs/design.md#the-family-study
#include <cstdio>
#include <set>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/parse.hpp"
#include "recipes/family_study.hpp"

namespace am::cli {

namespace {
std::string joined(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
    return s;
}

// The options start at FamilyStudySettings' defaults.
struct StudyOptions {
    std::uint64_t family_seed;
    int count = 12, seeds;
    bool ring;
    std::string methods, bases, out_dir;
    double iters_scale;
    Index eval_n;
    long pretrain_steps;
    std::optional<double> lr_final;  // none: the recipes' own schedule
    std::string cases;  // comma-separated case numbers; empty: 0 .. count-1
    explicit StudyOptions(const FamilyStudySettings& d)
        : family_seed(d.family_seed), seeds(d.seeds), ring(d.ring), methods(joined(d.methods)), bases(joined(d.bases)),
          out_dir(d.out_dir), iters_scale(d.run.iters_scale), eval_n(d.run.eval_n), pretrain_steps(d.run.pretrain_steps),
          lr_final(d.run.lr_final_fraction) {}
};

std::vector<std::string> parse_names(const std::string& list, const std::set<std::string>& allowed,
                                     const std::string& opt) {
    std::vector<std::string> out;
    for (const std::string& s : split(list, ',')) {
        AM_CHECK(allowed.count(s), opt + " '" + list + "': unknown '" + s + "'");
        out.push_back(s);
    }
    AM_CHECK(!out.empty(), opt + " is empty");
    return out;
}

// The settings of the options, checked; the command line that reruns them.
FamilyStudySettings settings_of(const StudyOptions& o) {
    require_positive(o.count, "--count");
    require_positive(o.seeds, "--seeds");
    FamilyStudySettings s;
    s.family_seed = o.family_seed;
    s.ring = o.ring;
    s.methods = parse_names(o.methods, {"am", "am-constant", "basic-am", "bptt"}, "--methods");
    s.bases = parse_names(o.bases, {"exact", "network"}, "--bases");
    s.seeds = o.seeds;
    if (o.cases.empty()) {
        for (int i = 0; i < o.count; ++i) s.cases.push_back(i);
    } else {
        std::set<long> chosen;
        for (const std::string& n : split(o.cases, ',')) {
            const std::optional<long> i = parse_long(n);
            AM_CHECK(i && *i >= 0 && *i < 1000, "--cases '" + o.cases + "': '" + n + "' is not a case number (0..999)");
            AM_CHECK(chosen.insert(*i).second, "--cases '" + o.cases + "': case " + n + " is named twice");
            s.cases.push_back(int(*i));
        }
    }
    s.run.iters_scale = o.iters_scale;
    s.run.eval_n = o.eval_n;
    s.run.pretrain_steps = o.pretrain_steps;
    s.run.lr_final_fraction = o.lr_final;
    s.out_dir = o.out_dir;
    s.command_line = "amflow study --family-seed " + std::to_string(o.family_seed) + " --count " +
                     std::to_string(o.count) + (o.ring ? " --ring" : "") + " --methods " + o.methods + " --bases " +
                     o.bases + " --seeds " + std::to_string(o.seeds) + " --iters-scale " + format_number(o.iters_scale) +
                     " --eval-n " + std::to_string(o.eval_n) + " --pretrain-steps " + std::to_string(o.pretrain_steps) +
                     (o.lr_final ? " --lr-final " + format_number(*o.lr_final) : std::string()) +
                     (o.cases.empty() ? std::string() : " --cases " + o.cases);
    return s;
}

void run_study(const StudyOptions& o) {
    const FamilyStudySettings s = settings_of(o);
    const auto results = run_family_study(s);
    std::printf("study: %zu runs; %s/table.md, %s/grid.png\n", results.size(), s.out_dir.c_str(), s.out_dir.c_str());
}
}  // namespace

void register_study(CLI::App& app) {
    auto o = std::make_shared<StudyOptions>(FamilyStudySettings{});
    auto* cmd = app.add_subcommand("study", "Run the fine-tuning methods on cases of the closed-form family; "
                                            "resumable; writes a table and a picture");
    cmd->add_option("--family-seed", o->family_seed, "the family's seed (amflow family --seed)")
        ->capture_default_str()->check(seed_value());
    cmd->add_option("--count", o->count, "cases 0 .. count-1 of the family")->capture_default_str()
        ->check(integer_in(1, 1000));
    cmd->add_flag("--ring", o->ring, "the default ring case too");
    cmd->add_option("--methods", o->methods, "comma-separated: am, am-constant (sigma 0.5), basic-am, bptt")
        ->capture_default_str();
    cmd->add_option("--bases", o->bases, "comma-separated: exact (mixture + residual), network (pretrained here)")
        ->capture_default_str();
    cmd->add_option("--seeds", o->seeds, "seeds of am (the other methods: one)")->capture_default_str()
        ->check(integer_in(1, 100));
    cmd->add_option("--iters-scale", o->iters_scale, "the recipes' iterations times this (a quick study: 0.1)")
        ->capture_default_str()->check(real_in(0, 100, true));
    cmd->add_option("--eval-n", o->eval_n, "evaluation samples per run")->capture_default_str()
        ->check(integer_in(100, kMaxBatch));
    cmd->add_option("--pretrain-steps", o->pretrain_steps, "network bases: flow-matching steps of 1024")
        ->capture_default_str()->check(integer_in(1, kMaxIterations));
    cmd->add_option_function<double>(
           "--lr-final", [o](const double& f) { o->lr_final = f; },
           "the cosine schedule's final learning rate as a fraction of the first (default: the recipes')")
        ->check(real_in(0, 1, true));
    cmd->add_option("--cases", o->cases, "comma-separated case numbers instead of 0 .. count-1 (e.g. 1,3,8)");
    cmd->add_option("--out-dir", o->out_dir, "results.jsonl, table.md, grid.png, bases/, samples/")
        ->capture_default_str();
    cmd->callback([o] { run_study(*o); });
}

}  // namespace am::cli
