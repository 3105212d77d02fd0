// A family of closed-form fine-tuning problems, generated from a seed:
// 2-D Gaussian-mixture bases (3 to 8 modes, unequal weights, isotropic and
// anisotropic covariances, centres on a ring or scattered, not always around
// the origin), a linear or quadratic reward, a lambda. The exact tilted
// target of each case is exact_tilt(mixture, reward, lambda) (tilt.hpp).
//
// A case is saved as two files that the ordinary commands read:
//   NAME.json       the base mixture (data/mixture_json.hpp; --mixture NAME.json)
//   NAME.case.json  {"name", "mixture": "NAME.json", "reward": SPEC, "lambda",
//                    "family_seed", "index"}   (SPEC as --reward takes it)
// Design: docs/design.md#a-family-of-closed-form-problems
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/mixture.hpp"
#include "finetune/reward.hpp"

namespace am::finetune {

struct FamilyCase {
    std::string name;              // "family-SEED-INDEX", or "ring"
    data::GaussianMixture mixture; // the base p_base
    std::string reward;            // make_reward spec: linear:c0,c1 | quadratic:a0,a1,tau
    double lambda = 0;
    std::uint64_t family_seed = 0;
    int index = -1;                // -1: not generated (the ring)

    std::unique_ptr<Reward> make_reward() const { return finetune::make_reward(reward, mixture.dim()); }
    // exact_tilt(mixture, reward, lambda)
    data::GaussianMixture target() const;
};

// The ranges the generator draws from (the family; docs/design.md).
struct FamilyRanges {
    int min_modes = 3, max_modes = 8;
    double max_weight_ratio = 4;          // largest / smallest base weight
    double min_std = 0.3, max_std = 0.7;  // per-axis std (square roots of the covariance's eigenvalues)
    double min_lambda = 0.3, max_lambda = 1.5;
    double min_linear_norm = 0.5, max_linear_norm = 1.5;  // ||c|| of r = c.x
    double min_tau = 1.5, max_tau = 3.0;  // r = -||x - a||^2 / (2 tau^2)
    // Acceptance of a draw (else the same stream draws again):
    double separation_z = 3;      // every pair of modes, base and target: ||mu_i - mu_j|| >= z (s_i + s_j),
                                  // s the std along mu_i - mu_j (so the mode assignment of evaluate() is sound)
    double min_base_tv = 0.15;    // mode-weight TV from base to target: doing nothing must score badly
    double max_target_weight = 0.9;  // the target keeps more than one mode
    double min_abs_reward = 0.5;  // |E_target r| (the mean reward is compared relatively)
};

// Case `index` of the family `seed` (deterministic: the same on every platform).
FamilyCase family_case(std::uint64_t seed, int index, const FamilyRanges& ranges = {});
// Cases 0..n-1.
std::vector<FamilyCase> family(std::uint64_t seed, int n, const FamilyRanges& ranges = {});
// The project's first problem: the default ring, r = x_0, lambda 0.5.
FamilyCase ring_case();

// Writes DIR/NAME.json and DIR/NAME.case.json (atomically); returns the path of the case file.
std::string save_case(const std::string& dir, const FamilyCase& c);
// Reads a NAME.case.json (its mixture path is relative to the case file's folder).
// Errors name the file and the field.
FamilyCase load_case(const std::string& case_path);
// The amflow finetune flags that rerun the case, given where its mixture file is:
// "--mixture PATH --reward SPEC --lambda L".
std::string finetune_flags(const FamilyCase& c, const std::string& mixture_path);

// Mode-weight TV from the base's weights to the target's.
double base_to_target_tv(const FamilyCase& c);

}  // namespace am::finetune
