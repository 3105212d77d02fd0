// The exact answer fine-tuning should reach (the figures that compare samples
// with it: finetune/evaluation.hpp).
//
// For a Gaussian-mixture base p = sum_k w_k N(mu_k, S_k) the tilted target
// p*(x) ∝ p(x) exp(lambda r(x)) is again a Gaussian mixture:
//   linear r = c.x:       N(mu_k + lambda S_k c, S_k),
//                         w*_k ∝ w_k exp(lambda c.mu_k + lambda^2 c^T S_k c / 2)
//   quadratic r = -||x - a||^2 / (2 tau^2):
//                         S*_k = (S_k^-1 + lambda/tau^2 I)^-1,
//                         mu*_k = S*_k (S_k^-1 mu_k + lambda a / tau^2),
//                         w*_k ∝ w_k N(a; mu_k, S_k + tau^2/lambda I)
// Design: docs/design.md#exact-fields-and-tilts
#pragma once

#include <string>
#include <vector>

#include "data/mixture.hpp"
#include "finetune/reward.hpp"

namespace am::finetune {

data::GaussianMixture tilt_linear(const data::GaussianMixture& base, const std::vector<double>& c, double lambda);
data::GaussianMixture tilt_quadratic(const data::GaussianMixture& base, const std::vector<double>& a, double tau,
                                     double lambda);
// Dispatches on the reward's kind (linear or quadratic; anything else throws).
data::GaussianMixture exact_tilt(const data::GaussianMixture& base, const Reward& reward, double lambda);

// E[r(X)] under a mixture, in closed form (linear or quadratic reward).
double expected_reward(const data::GaussianMixture& mix, const Reward& reward);

}  // namespace am::finetune
