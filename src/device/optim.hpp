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

// One Adam update of w (n) from g (n). Returns ||g|| before clipping; throws
// am::Error naming `who` if it is NaN or infinite, before changing anything.
double adam_step(AdamState& s, float* w, const float* g, std::size_t n, const char* who);

}  // namespace am::device
