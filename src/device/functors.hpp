// The elementwise and per-row work of the device layer, as functors that
// Thrust runs over a counting iterator (thrust::for_each over i in [0, n)):
// HOST_DEVICE, so the same object runs under the OpenMP backend (g++) and on
// the GPU (nvcc). Each holds raw device pointers and sizes; each comment gives
// its equation, its shapes (row-major) and its reference twin.
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstddef>

#include "core/fastmath.hpp"
#include "core/host_device.hpp"

namespace am::device {

// SiLU and its derivative, as in the autograd op linear_silu (src/autograd/ops.cpp):
//   silu(z) = z s(z),  silu'(z) = s (1 + z (1 - s)),  s = sigmoid(z).
HOST_DEVICE inline float silu(float z) { return z * sigmoid(z); }
HOST_DEVICE inline float silu_grad(float z) {
    const float s = sigmoid(z);
    return s * (1.0f + z * (1.0f - s));
}

// The network's input h0 = concat(x, t), (N, d + 1), element i:
//   h0[r, c] = x[r, c] for c < d,   h0[r, d] = t[r]  (t_rows given) or t_value.
// Reference twin: ag::concat_cols in nn::VelocityMLP::forward.
struct ConcatTime {
    const float* x;       // (N, d)
    const float* t_rows;  // (N) or nullptr
    float t_value;
    int d;
    float* h0;  // (N, d + 1)
    HOST_DEVICE void operator()(std::size_t i) const {
        const std::size_t r = i / std::size_t(d + 1), c = i % std::size_t(d + 1);
        h0[i] = c < std::size_t(d) ? x[r * d + c] : (t_rows ? t_rows[r] : t_value);
    }
};

// A hidden layer's bias and activation, in place on the product z = h W:
//   z[r, c] += b[c],  h[r, c] = silu(z[r, c]);   z, h (N, H), b (H).
// Reference twin: ag::linear_silu.
struct BiasSiLU {
    const float* b;
    int width;
    float* z;
    float* h;
    HOST_DEVICE void operator()(std::size_t i) const {
        const float zi = z[i] + b[i % std::size_t(width)];
        z[i] = zi;
        h[i] = silu(zi);
    }
};

// The output layer's bias: y[r, c] += b[c];  y (N, n), b (n).  Reference twin: ag::linear.
struct AddBias {
    const float* b;
    int n;
    float* y;
    HOST_DEVICE void operator()(std::size_t i) const { y[i] += b[i % std::size_t(n)]; }
};

// Back through the activation, in place: g[i] *= silu'(z[i]);  g, z (N, H).
// Reference twin: the backward of ag::linear_silu.
struct SiLUBackward {
    const float* z;
    float* g;
    HOST_DEVICE void operator()(std::size_t i) const { g[i] *= silu_grad(z[i]); }
};

}  // namespace am::device
