// Adam over one flat parameter array on the device.
//
//   g' = sc g  (sc = clip_norm / ||g|| when clip_norm > 0 and ||g|| exceeds it, else 1),
//   m = b1 m + (1 - b1) g',  v = b2 v + (1 - b2) g'^2,
//   w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr weight_decay w.
//
// Reference twin: nn::Adam (src/nn/optim.cpp), compared in tests/test_device.cpp.
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstddef>

#include "device/array.hpp"

namespace am::device {

struct AdamState {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0, clip_norm = 0;
    Array m, v;  // moments, zero at the start (sized at the first step)
    long t = 0;  // steps taken
};

// ||g|| over n floats, accumulated in double.
double norm2(const float* g, std::size_t n);

// The number of NaN or infinite entries of w (n).
std::size_t count_non_finite(const float* w, std::size_t n);

struct AdamResult {
    double grad_norm = 0;        // ||g|| before clipping
    std::size_t non_finite = 0;  // weights the update made NaN or infinite
};

// One Adam update of w (n) from g (n), unless ||g|| is NaN or infinite: then
// nothing changes (w, the moments, the step count) and the result says so.
// The caller turns either into the divergence error (nn::check_finite_value,
// nn::throw_non_finite_weights: device::AMTrainer, device::FMTrainer).
AdamResult adam_step(AdamState& s, float* w, const float* g, std::size_t n);

}  // namespace am::device
