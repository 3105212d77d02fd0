// Flow matching and sampling on the device (docs/design.md#the-thrust-engine):
// the pretraining step's device part and the SDE sampler without a stored
// trajectory. Reference twins: flow::FlowMatchingTrainer::step
// (src/flow/flow_matching.cpp) and flow::sample_sde (src/flow/sampler.cpp).
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstdint>
#include <vector>

#include "device/array.hpp"
#include "device/finetune.hpp"
#include "device/mlp.hpp"

namespace am::device {

struct FlowMatchingBuffers {
    MLPTape tape;
    Array x1, x0, t, coef, xt, target, v, sq;
};

// The loss mean((v(X_t, t) - target)^2) of one batch, X_t = alpha x1 + beta x0,
// target = alpha_dot x1 + beta_dot x0 (coef (B, 4) per row: alpha, beta,
// alpha_dot, beta_dot), and its parameter gradient into grad (m.size()).
// x1, x0 (B, d) and t (B) are device arrays already filled.
double flow_matching_loss(const MLPLayout& m, const float* params, int B, FlowMatchingBuffers& buf, float* grad);

// ema (n) += (1 - decay) (w - ema).
void ema_update(float decay, const float* w, float* ema, std::size_t n);

// Samples X_K (n, d) of the network `params` on a step grid, X_0 and the step
// noise from Philox with `key` (X_0 stream 0, step k stream k + 1), without
// keeping the trajectory. Batches of `batch` rows (row i keeps its Philox row
// i whatever the batch), into out (n d).
void sample(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid, std::uint64_t key, int n,
            int batch, Array& out, FineTuneBuffers& buf);

}  // namespace am::device
