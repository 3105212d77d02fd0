// amflow study: the fine-tuning methods on cases of the closed-form family
// (finetune/study.hpp), each run judged against its case's exact tilt.
// One JSON line per run is appended to OUT/results.jsonl as soon as the run
// ends, so a stopped study started again with the same flags resumes where it
// stopped; OUT/table.md (the summary and every run) and OUT/grid.png (per case,
// the exact target against the samples of am on the exact base, seed 0) are
// rewritten after every run.
// Design: docs/design.md#the-family-study
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/parse.hpp"
#include "data/csv.hpp"
#include "data/file_io.hpp"
#include "finetune/study.hpp"
#include "finetune/tilt.hpp"
#include "nn/checkpoint.hpp"
#include "plot/plots.hpp"

namespace am::cli {

namespace {
struct StudyOptions {
    std::uint64_t family_seed = 2;
    int count = 12, seeds = 3;
    bool ring = false;
    std::string methods = "am,am-constant,basic-am,bptt", bases = "exact,network", out_dir = "study";
    double iters_scale = 1;
    Index eval_n = 20000;
    long pretrain_steps = 5000;
    double lr_final = -1;  // < 0: the recipes' own schedule
    std::string cases;     // comma-separated case numbers; empty: 0 .. count-1
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

// The results already in the file (a stopped study), each line checked.
std::vector<finetune::StudyResult> read_results(const std::string& path) {
    std::vector<finetune::StudyResult> out;
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        try {
            out.push_back(finetune::StudyResult::from_json(line));
        } catch (const Error& e) {
            throw Error(path + " line " + std::to_string(n) + ": " + e.what() +
                        "; remove that line (or the file) to run that part again");
        }
    }
    return out;
}

void append_line(const std::string& path, const std::string& line) {
    std::ofstream out(path, std::ios::app);
    out << line << "\n";
    out.flush();
    AM_CHECK(bool(out), "study: cannot append to " + path);
}

void write_report(const StudyOptions& o, const std::vector<finetune::FamilyCase>& cases,
                  const std::vector<finetune::StudyResult>& results) {
    namespace fs = std::filesystem;
    std::ostringstream md;
    md << "# The family study\n\n`amflow study --family-seed " << o.family_seed << " --count " << o.count
       << (o.ring ? " --ring" : "") << " --methods " << o.methods << " --bases " << o.bases << " --seeds " << o.seeds
       << " --iters-scale " << format_number(o.iters_scale) << " --eval-n " << o.eval_n << " --pretrain-steps "
       << o.pretrain_steps << (o.lr_final >= 0 ? " --lr-final " + format_number(o.lr_final) : std::string())
       << (o.cases.empty() ? std::string() : " --cases " + o.cases) << "`: " << results.size() << " runs. Recipes: exact base "
       << "`finetune::exact_base_recipe()`, network base `finetune::network_base_recipe()` (iterations times "
       << format_number(o.iters_scale) << "); evaluation on " << o.eval_n
       << " samples of the memoryless SDE on the training grid.\n\n";
    // the floor: exact samples of each target against their own law
    std::vector<double> floors;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        Rng r(1000 + i);
        const auto target = cases[i].target();
        floors.push_back(finetune::evaluate(target.sample(o.eval_n, r), target, nullptr).tv);
    }
    std::sort(floors.begin(), floors.end());
    char floor_line[160];
    std::snprintf(floor_line, sizeof floor_line, "median %.3f, largest %.3f", floors[(floors.size() - 1) / 2],
                  floors.back());
    md << "TV floor (" << o.eval_n << " exact samples of each target against its own weights): " << floor_line
       << ".\n\n";
    md << finetune::study_table(results);
    data::write_file_atomic((fs::path(o.out_dir) / "table.md").string(), md.str());
    // the picture: one panel per case with samples of am on the exact base, seed 0
    std::vector<plot::Panel> panels;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const fs::path csv = fs::path(o.out_dir) / "samples" / (cases[i].name + ".csv");
        if (!fs::exists(csv)) continue;
        Rng r(2000 + i);
        plot::Layer target, tuned;
        target.points = cases[i].target().sample(2000, r);
        target.color = plot::colors::green;
        target.label = "exact tilt";
        const Mat<float> x = data::read_samples_csv(csv.string());
        tuned.points = xt::view(x, xt::range(0, std::min<Index>(rows(x), 2000)), xt::all());
        tuned.label = "am";
        panels.push_back({cases[i].name, {target, tuned}});
    }
    if (!panels.empty()) {
        plot::ScatterOptions so;
        so.panel_size = 220;
        so.title = "exact tilt (green) against adjoint matching on the exact base (blue)";
        plot::scatter_panels((fs::path(o.out_dir) / "grid.png").string(), panels, so);
    }
}

void run_study(const StudyOptions& o) {
    namespace fs = std::filesystem;
    require_positive(o.count, "--count");
    require_positive(o.seeds, "--seeds");
    const auto methods =
        parse_names(o.methods, {"am", "am-constant", "basic-am", "bptt"}, "--methods");
    const auto bases = parse_names(o.bases, {"exact", "network"}, "--bases");
    std::vector<finetune::FamilyCase> cases;
    if (o.ring) cases.push_back(finetune::ring_case());
    if (o.cases.empty()) {
        for (int i = 0; i < o.count; ++i) cases.push_back(finetune::family_case(o.family_seed, i));
    } else {
        for (const std::string& n : split(o.cases, ',')) {
            const std::optional<long> i = parse_long(n);
            AM_CHECK(i && *i >= 0 && *i < 1000, "--cases '" + o.cases + "': '" + n + "' is not a case number (0..999)");
            cases.push_back(finetune::family_case(o.family_seed, int(*i)));
        }
    }
    fs::create_directories(fs::path(o.out_dir) / "samples");
    fs::create_directories(fs::path(o.out_dir) / "bases");
    const std::string results_path = (fs::path(o.out_dir) / "results.jsonl").string();
    std::vector<finetune::StudyResult> results = read_results(results_path);
    std::set<std::string> done;
    for (const auto& r : results) done.insert(r.case_name + "/" + r.method + "/" + r.base + "/" + std::to_string(r.seed));

    finetune::StudySettings s;
    s.iters_scale = o.iters_scale;
    s.eval_n = o.eval_n;
    s.pretrain_steps = o.pretrain_steps;
    s.lr_final_fraction = o.lr_final;

    // the runs: am over --seeds seeds, the other methods one seed
    struct Planned { const finetune::FamilyCase* c; finetune::StudyRun run; };
    std::vector<Planned> plan;
    for (const auto& c : cases)
        for (const auto& base : bases)
            for (const auto& m : methods)
                for (int seed = 0; seed < (m == "am" ? o.seeds : 1); ++seed) {
                    finetune::StudyRun run{m, base, std::uint64_t(seed)};
                    if (!done.count(run.key(c.name))) plan.push_back({&c, run});
                }
    std::fprintf(stderr, "study: %zu cases, %zu runs already in %s, %zu to run\n", cases.size(), results.size(),
                 results_path.c_str(), plan.size());
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto& [c, run] = plan[i];
        std::unique_ptr<nn::VelocityMLP<float>> net;
        if (run.base == "network") {
            const std::string ck = (fs::path(o.out_dir) / "bases" / (c->name + ".ckpt")).string();
            if (fs::exists(ck)) {
                net = std::make_unique<nn::VelocityMLP<float>>(
                    nn::velocity_mlp_from_checkpoint<float>(nn::load_checkpoint(ck)));
            } else {
                std::fprintf(stderr, "study: pretraining the network base of %s (%ld steps of 1024)\n", c->name.c_str(),
                             o.pretrain_steps);
                net = std::make_unique<nn::VelocityMLP<float>>(finetune::pretrain_study_base(*c, s, 0));
                nn::save_checkpoint(ck, nn::to_checkpoint(*net));
            }
        }
        Mat<float> x;
        const finetune::StudyResult r = finetune::run_study(*c, run, s, net.get(), &x);
        if (run.method == "am" && run.base == "exact" && run.seed == 0)
            data::write_samples_csv((fs::path(o.out_dir) / "samples" / (c->name + ".csv")).string(), x);
        append_line(results_path, r.to_json());
        results.push_back(r);
        char own[48] = "";
        if (r.tv_own >= 0) std::snprintf(own, sizeof own, ", TV_own %.3f (base TV %.3f)", r.tv_own, r.base_tv);
        std::fprintf(stderr, "study: [%zu/%zu] %s: TV %.3f%s, reward %.3f / %.3f, %.0f s\n", i + 1, plan.size(),
                     run.key(c->name).c_str(), r.tv, own, r.reward_mean, r.reward_exact, r.seconds);
        write_report(o, cases, results);
    }
    if (plan.empty()) write_report(o, cases, results);
    std::printf("study: %zu runs; %s/table.md, %s/grid.png\n", results.size(), o.out_dir.c_str(), o.out_dir.c_str());
}
}  // namespace

void register_study(CLI::App& app) {
    auto o = std::make_shared<StudyOptions>();
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
    cmd->add_option("--lr-final", o->lr_final,
                    "the cosine schedule's final learning rate as a fraction of the first (default: the recipes')")
        ->check(real_in(0, 1, true));
    cmd->add_option("--cases", o->cases, "comma-separated case numbers instead of 0 .. count-1 (e.g. 1,3,8)");
    cmd->add_option("--out-dir", o->out_dir, "results.jsonl, table.md, grid.png, bases/, samples/")
        ->capture_default_str();
    cmd->callback([o] { run_study(*o); });
}

}  // namespace am::cli
