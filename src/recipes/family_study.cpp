// Design: docs/design.md#the-family-study
#include "recipes/family_study.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "core/parse.hpp"
#include "data/csv.hpp"
#include "data/file_io.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/tilt.hpp"
#include "nn/checkpoint.hpp"
#include "plot/plots.hpp"

namespace am::recipes {

namespace {

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

void write_report(const FamilyStudySettings& o, const std::vector<finetune::FamilyCase>& cases,
                  const std::vector<finetune::StudyResult>& results) {
    namespace fs = std::filesystem;
    std::ostringstream md;
    md << "# The family study\n\n`" << o.command_line << "`: " << results.size() << " runs. Recipes: exact base "
       << "`finetune::exact_base_recipe()`, network base `finetune::network_base_recipe()` (iterations times "
       << format_number(o.run.iters_scale) << "); evaluation on " << o.run.eval_n
       << " samples of the memoryless SDE on the training grid.\n\n";
    // the floor: exact samples of each target against their own law
    std::vector<double> floors;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        Rng r(1000 + i);
        const auto target = cases[i].target();
        floors.push_back(finetune::evaluate(target.sample(o.run.eval_n, r), target, nullptr).tv);
    }
    std::sort(floors.begin(), floors.end());
    char floor_line[160];
    std::snprintf(floor_line, sizeof floor_line, "median %.3f, largest %.3f", floors[(floors.size() - 1) / 2],
                  floors.back());
    md << "TV floor (" << o.run.eval_n << " exact samples of each target against its own weights): " << floor_line
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

}  // namespace

std::vector<finetune::StudyResult> run_family_study(const FamilyStudySettings& o) {
    namespace fs = std::filesystem;
    AM_CHECK(o.seeds > 0, "study: the number of seeds must be positive");
    AM_CHECK(!o.methods.empty() && !o.bases.empty(), "study: no method or no base to run");
    std::vector<finetune::FamilyCase> cases;
    if (o.ring) cases.push_back(finetune::ring_case());
    for (int i : o.cases) cases.push_back(finetune::family_case(o.family_seed, i));
    AM_CHECK(!cases.empty(), "study: no case to run");
    fs::create_directories(fs::path(o.out_dir) / "samples");
    fs::create_directories(fs::path(o.out_dir) / "bases");
    const std::string results_path = (fs::path(o.out_dir) / "results.jsonl").string();
    std::vector<finetune::StudyResult> results = read_results(results_path);
    std::set<std::string> done;
    for (const auto& r : results) done.insert(r.case_name + "/" + r.method + "/" + r.base + "/" + std::to_string(r.seed));

    const finetune::StudySettings& s = o.run;

    // the runs: am over --seeds seeds, the other methods one seed
    struct Planned { const finetune::FamilyCase* c; finetune::StudyRun run; };
    std::vector<Planned> plan;
    for (const auto& c : cases)
        for (const auto& base : o.bases)
            for (const auto& m : o.methods)
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
                             s.pretrain_steps);
                net = std::make_unique<nn::VelocityMLP<float>>(finetune::pretrain_study_base(*c, s, 0));
                nn::save_checkpoint(ck, nn::to_checkpoint(*net));
            }
            nn::freeze(*net);  // the base of the run: fine-tuned from, never trained
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
    return results;
}

}  // namespace am::recipes
