// The elementwise and per-row work of the device layer, as functors that
// Thrust runs over a counting iterator (thrust::for_each over i in [0, n)):
// HOST_DEVICE, so the same object runs under the OpenMP backend (g++) and on
// the GPU (nvcc). Each holds raw device pointers and sizes; each comment gives
// its equation, its shapes (row-major) and its reference twin.
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/fastmath.hpp"
#include "core/philox.hpp"
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

// N(0, 1) noise, one Philox call per four coordinates: i over (B, nb), nb = ceil(d / 4):
//   out[b, 4 jb + q] = noise(key, row0 + b, stream, 4 jb + q).   Reference twin: am::noise.
struct NormalFill {
    std::uint64_t key;
    std::uint32_t stream;
    std::size_t row0;
    int d, nb;
    float* out;  // (B, d)
    HOST_DEVICE void operator()(std::size_t i) const {
        const std::size_t b = i / std::size_t(nb);
        const int jb = int(i % std::size_t(nb));
        float z[4];
        noise4(key, row0 + b, stream, std::uint32_t(jb), z);
        for (int q = 0; q < 4 && 4 * jb + q < d; ++q) out[b * d + 4 * jb + q] = z[q];
    }
};

// The fused step of the one-step frame, i over (B, nb) as NormalFill:
//   x_next[b, j] = c x[b, j] + dc v[b, j] + s noise(key, row0 + b, stream, j)   (no noise when s = 0).
// Reference twin: the loop of flow::sample_sde.
struct SDEStep {
    const float* x;
    const float* v;
    float c, dc, s;
    std::uint64_t key;
    std::uint32_t stream;
    std::size_t row0;
    int d, nb;
    float* x_next;
    HOST_DEVICE void operator()(std::size_t i) const {
        const std::size_t b = i / std::size_t(nb);
        const int jb = int(i % std::size_t(nb));
        float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (s > 0.0f) noise4(key, row0 + b, stream, std::uint32_t(jb), z);
        for (int q = 0; q < 4 && 4 * jb + q < d; ++q) {
            const std::size_t e = b * d + 4 * jb + q;
            x_next[e] = s > 0.0f ? c * x[e] + dc * v[e] + s * z[q] : c * x[e] + dc * v[e];
        }
    }
};

// y[i] = alpha x[i] + beta y[i].  Reference twin: axpby in src/finetune/adjoint.cpp.
struct Axpby {
    float alpha;
    const float* x;
    float beta;
    float* y;
    HOST_DEVICE void operator()(std::size_t i) const { y[i] = alpha * x[i] + beta * y[i]; }
};

// The adjoint-matching residual of row r (step j = r / B of the chosen ones):
//   res = sc_j (v_ft - v_base) + off_j a_{k+1},   keep = (clip <= 0 or ||res||^2 / h_j <= clip),
//   row_loss[r] = keep ||res||^2,  row_drop[r] = 1 - keep,
//   g[r] (overwriting v_ft) = d loss / d v_ft = inv_B keep sc_j res   (loss = (inv_B / 2) sum row_loss).
// Reference twin: finetune::adjoint_matching_loss.
struct AMResidual {
    const float* vb;   // (R, d)
    const float* a1;   // (R, d)
    const float* sc;   // (S)
    const float* off;  // (S)
    const float* h;    // (S) the steps' lengths
    double clip;
    int B, d;
    float inv_B;
    float* g;          // (R, d): v_ft in, gradient out
    float* row_loss;   // (R)
    float* row_drop;   // (R)
    HOST_DEVICE void operator()(std::size_t r) const {
        const std::size_t j = r / std::size_t(B);
        const float scj = sc[j], offj = off[j];
        float* gr = g + r * d;
        const float* vbr = vb + r * d;
        const float* ar = a1 + r * d;
        double sq = 0;
        for (int c = 0; c < d; ++c) {
            const float res = scj * (gr[c] - vbr[c]) + offj * ar[c];
            gr[c] = res;
            sq += double(res) * double(res);
        }
        const bool keep = !(clip > 0) || !(sq / double(h[j]) > clip);
        row_loss[r] = keep ? float(sq) : 0.0f;
        row_drop[r] = keep ? 0.0f : 1.0f;
        const float w = keep ? inv_B * scj : 0.0f;
        for (int c = 0; c < d; ++c) gr[c] *= w;
    }
};

// x -> double(x)^2, for norms accumulated in double.
struct Square {
    HOST_DEVICE double operator()(float x) const { return double(x) * double(x); }
};

// One Adam update of element i (see device/optim.hpp).  Reference twin: nn::Adam::step.
struct AdamUpdate {
    float b1, b2, c1, c2, lr, eps, decay, sc;
    const float* g;
    float* m;
    float* v;
    float* w;
    HOST_DEVICE void operator()(std::size_t i) const {
        const float gi = sc * g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps) + decay * w[i];
    }
};

// The flow-matching pair of row r = i / d, from per-row path coefficients
// coef[r] = (alpha_t, beta_t, alpha_dot_t, beta_dot_t):
//   xt[i] = alpha x1[i] + beta x0[i],   target[i] = alpha_dot x1[i] + beta_dot x0[i].
// Reference twin: flow::flow_matching_loss.
struct FMPair {
    const float* x1;
    const float* x0;
    const float* coef;  // (B, 4)
    int d;
    float* xt;
    float* target;
    HOST_DEVICE void operator()(std::size_t i) const {
        const float* c = coef + 4 * (i / std::size_t(d));
        xt[i] = c[0] * x1[i] + c[1] * x0[i];
        target[i] = c[2] * x1[i] + c[3] * x0[i];
    }
};

// The flow-matching loss's terms and gradient, in place on v:
//   sq[i] = (v[i] - target[i])^2,   v[i] <- dloss/dv = scale (v[i] - target[i]),  scale = 2 / (B d)
// (loss = mean of sq). Reference twin: ag::mean(ag::square(v - target)) and its backward.
struct FMResidual {
    const float* target;
    float scale;
    float* v;
    float* sq;
    HOST_DEVICE void operator()(std::size_t i) const {
        const float r = v[i] - target[i];
        sq[i] = r * r;
        v[i] = scale * r;
    }
};

// The moving average of the weights: ema[i] += (1 - decay) (w[i] - ema[i]).
// Reference twin: the EMA loop of flow::train_flow_matching.
struct EMAUpdate {
    float one_minus_decay;
    const float* w;
    float* ema;
    HOST_DEVICE void operator()(std::size_t i) const { ema[i] += one_minus_decay * (w[i] - ema[i]); }
};

}  // namespace am::device
