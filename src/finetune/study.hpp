// The family study: fine-tuning methods run on the closed-form cases of
// family.hpp and judged against each case's exact tilt.
//
// One run = (case, method, base, seed):
//   method   am (lean adjoint, memoryless) | am-constant (am under sigma = 0.5)
//            | basic-am (full adjoint, memoryless) | bptt (memoryless)
//   base     exact    the case's mixture velocity + a residual MLP (exact_base_recipe)
//            network  a VelocityMLP(2, 256, 3) pretrained on the case's mixture by
//                     flow matching, fine-tuned as a copy (network_base_recipe)
// and its figures, from `eval_n` samples of the memoryless SDE on the training grid:
//   TV         mode-weight total variation to the exact tilt (evaluate())
//   TV_own     network base: TV to the tilt of the base's own mode weights
//              (what the method can reach from that base)
//   base_TV    network base: the base's own TV to the case's mixture
//   reward     mean r(X1) against the exact tilted mean E_target r
//
// `amflow study` (src/cli/cmd_study.cpp) runs the grid, one JSON line per run
// appended as it finishes (so a stopped study resumes), and writes the table.
// Design: docs/design.md#the-family-study
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "finetune/family.hpp"
#include "finetune/presets.hpp"
#include "finetune/trainer.hpp"
#include "nn/mlp.hpp"

namespace am::finetune {

struct StudyRun {
    std::string method = "am";  // am | am-constant | basic-am | bptt
    std::string base = "exact"; // exact | network
    std::uint64_t seed = 0;
    std::string key(const std::string& case_name) const;  // "CASE/METHOD/BASE/SEED"
};


struct StudySettings {
    double iters_scale = 1;   // the recipes' iterations times this (the quick study: < 1)
    Index eval_n = 20000;     // samples of the evaluation
    long pretrain_steps = 5000;  // network base: flow-matching steps of 1024
    // the cosine schedule's final learning rate as a fraction of the first
    // (FineTuneConfig::lr_final_fraction); none: the recipe's own
    std::optional<double> lr_final_fraction;
};

struct StudyResult {
    std::string case_name, method, base;
    std::uint64_t seed = 0;
    long iters = 0;
    double tv = 0, tv_own = -1, base_tv = -1;  // -1: not applicable (exact base)
    double reward_mean = 0, reward_exact = 0;
    double seconds = 0;  // fine-tuning and evaluation (not the base's pretraining)

    double reward_error() const;  // |reward_mean / reward_exact - 1|
    std::string to_json() const;
    static StudyResult from_json(const std::string& line);  // am::Error on a malformed line
};

// The pretrained network base of a case (flow matching on its mixture, seed
// `seed`): what a network-base run starts from.
nn::VelocityMLP<float> pretrain_study_base(const FamilyCase& c, const StudySettings& s, std::uint64_t seed);

// One run. network: the pretrained base for base == "network", frozen
// (nn::freeze; else unused).
// samples (optional): the evaluation samples (eval_n, 2).
StudyResult run_study(const FamilyCase& c, const StudyRun& run, const StudySettings& s,
                      const nn::VelocityMLP<float>* network, Mat<float>* samples = nullptr);

// The markdown report: a summary per (method, base) (median, worst, spread over
// seeds, largest reward error) and one row per run.
std::string study_table(const std::vector<StudyResult>& results);

}  // namespace am::finetune
