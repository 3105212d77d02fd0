// The elementwise and per-row work of the device layer, as functors that
// Thrust runs (src/device/launch.hpp): HOST_DEVICE, so the same object runs
// under the OpenMP backend (g++) and on the GPU (nvcc). Each holds raw device
// pointers and sizes; each comment gives its equation, its shapes (row-major)
// and its reference twin. Three call forms:
//   (r, c0, c1)  columns [c0, c1) of row r     (for_each_row: a whole row on the CPU)
//   (i0, i1)     elements [i0, i1) of an array (for_each_range: a chunk on the CPU)
//   (r)          one row, a per-row reduction  (for_each_index)
// The loops of the first two forms are contiguous and marked AM_SIMD, so the
// CPU build vectorises them (exp included: core/fastmath.hpp).
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/fastmath.hpp"
#include "core/philox.hpp"
#include "core/host_device.hpp"

// `#pragma omp simd` on the next loop in the CPU builds (ignored without
// OpenMP: -Wno-unknown-pragmas), nothing under nvcc (one element per call).
#ifdef __CUDACC__
#define AM_SIMD
#else
#define AM_SIMD _Pragma("omp simd")
#endif

namespace am::device {

// SiLU and its derivative, as in the autograd op linear_silu (src/autograd/ops.cpp):
//   silu(z) = z s(z),  silu'(z) = s (1 + z (1 - s)) = s + h (1 - s),  s = sigmoid(z), h = silu(z):
// with s and h kept by the forward, the backward needs no exp.
HOST_DEVICE inline float silu(float z) { return z * sigmoid(z); }
HOST_DEVICE inline float silu_grad_from(float s, float h) { return s + h * (1.0f - s); }

// The network's input h0 = concat(x, t, phi(t)), (N, d + 1 + 2F), row r over columns c < d + 1 + 2F:
//   h0[r, c] = x[r, c] for c < d,   h0[r, d] = t[r]  (t_rows given) or t_value, then phi(t).
// Reference twin: ag::concat_cols and nn::time_inputs in nn::VelocityMLP::forward.
struct ConcatTime {
    const float* x;       // (N, d)
    const float* t_rows;  // (N) or nullptr
    float t_value;
    int d;
    int time_features;  // F: h0 = concat(x, t, sin(w_0 t), cos(w_0 t), ...), w_k = pi 2^k
    float* h0;          // (N, d + 1 + 2F)
    HOST_DEVICE void operator()(std::size_t r, int c0, int c1) const {
        float* hr = h0 + r * std::size_t(d + 1 + 2 * time_features);
        const float* xr = x + r * std::size_t(d);
        const int ce = c1 < d ? c1 : d;
        AM_SIMD for (int c = c0; c < ce; ++c) hr[c] = xr[c];
        const float t = t_rows ? t_rows[r] : t_value;
        for (int c = c0 > d ? c0 : d; c < c1; ++c) {  // t, then the features (nn::time_inputs)
            const int k = (c - d - 1) / 2;
            const double wt = 3.14159265358979323846 * double(1 << (k > 0 ? k : 0)) * double(t);
            hr[c] = c == d ? t : float((c - d) % 2 == 1 ? sin(wt) : cos(wt));
        }
    }
};

// A hidden layer's bias and activation, on the product z = h W held in zs:
//   z = zs[r, c] + b[c],  zs[r, c] = sigmoid(z),  h[r, c] = z sigmoid(z) = silu(z);   zs, h (N, H), b (H).
// (zs then keeps the sigmoid, what the backward needs beside h: SiLUBackward.)
// Reference twin: ag::linear_silu.
struct BiasSiLU {
    const float* b;
    int width;
    float* zs;
    float* h;
    HOST_DEVICE void operator()(std::size_t r, int c0, int c1) const {
        float* sr = zs + r * std::size_t(width);
        float* hr = h + r * std::size_t(width);
        AM_SIMD for (int c = c0; c < c1; ++c) {
            const float zi = sr[c] + b[c];
            const float si = sigmoid(zi);
            sr[c] = si;
            hr[c] = zi * si;
        }
    }
};

// The output layer's bias: y[r, c] += b[c];  y (N, n), b (n).  Reference twin: ag::linear.
struct AddBias {
    const float* b;
    int n;
    float* y;
    HOST_DEVICE void operator()(std::size_t r, int c0, int c1) const {
        float* yr = y + r * std::size_t(n);
        AM_SIMD for (int c = c0; c < c1; ++c) yr[c] += b[c];
    }
};

// A data-output network (nn::VelocityOutput::Data): its output D becomes the velocity
//   v[r, c] = (D[r, c] - x[r, c]) / max(1 - t_r, kDataGapMin),   v holds D on entry;
// with `x` nullptr, the backward's scaling out[r, c] = g[r, c] / max(1 - t_r, kDataGapMin).
// t_r is read from the network's input row h0 (column d).  Reference twin: nn::VelocityMLP::forward.
constexpr float kDataGapMin = 0.05f;  // = nn::kDataGapMin (checked in device/bridge.cpp)
struct DataToVelocity {
    const float* h0;  // (N, in0), t in column d
    int in0, d;
    const float* x;   // (N, d) or nullptr
    const float* g;   // (N, d): the input when x is nullptr, else unused
    float* out;       // (N, d)
    HOST_DEVICE void operator()(std::size_t r, int c0, int c1) const {
        const float gap = 1.0f - h0[r * std::size_t(in0) + std::size_t(d)];
        const float inv = 1.0f / (gap > kDataGapMin ? gap : kDataGapMin);
        float* o = out + r * std::size_t(d);
        if (x) {
            const float* xr = x + r * std::size_t(d);
            AM_SIMD for (int c = c0; c < c1; ++c) o[c] = (o[c] - xr[c]) * inv;
        } else {
            const float* gr = g + r * std::size_t(d);
            AM_SIMD for (int c = c0; c < c1; ++c) o[c] = gr[c] * inv;
        }
    }
};

// Back through the activation, in place: g[i] *= silu'(z[i]) = s[i] + h[i] (1 - s[i]);
// g, s = sigmoid(z), h = silu(z) (N, H), s and h as BiasSiLU left them.
// Reference twin: the backward of ag::linear_silu.
struct SiLUBackward {
    const float* s;
    const float* h;
    float* g;
    HOST_DEVICE void operator()(std::size_t i0, std::size_t i1) const {
        AM_SIMD for (std::size_t i = i0; i < i1; ++i) g[i] *= silu_grad_from(s[i], h[i]);
    }
};

// N(0, 1) noise, one Philox call per four coordinates: row b over the blocks jb < ceil(d / 4):
//   out[b, 4 jb + q] = noise(key, row0 + b, stream, 4 jb + q).   Reference twin: am::noise.
struct NormalFill {
    std::uint64_t key;
    std::uint32_t stream;
    std::size_t row0;
    int d;
    float* out;  // (B, d)
    HOST_DEVICE void operator()(std::size_t b, int jb0, int jb1) const {
        for (int jb = jb0; jb < jb1; ++jb) {
            float z[4];
            noise4(key, row0 + b, stream, std::uint32_t(jb), z);
            for (int q = 0; q < 4 && 4 * jb + q < d; ++q) out[b * d + 4 * jb + q] = z[q];
        }
    }
};

// The fused step of the one-step frame, row b over the blocks jb as NormalFill:
//   x_next[b, j] = c x[b, j] + dc v[b, j] + s noise(key, row0 + b, stream, j)   (no noise when s = 0).
// Reference twin: the loop of flow::sample_sde.
struct SDEStep {
    const float* x;
    const float* v;
    float c, dc, s;
    std::uint64_t key;
    std::uint32_t stream;
    std::size_t row0;
    int d;
    float* x_next;
    HOST_DEVICE void operator()(std::size_t b, int jb0, int jb1) const {
        for (int jb = jb0; jb < jb1; ++jb) {
            float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            if (s > 0.0f) noise4(key, row0 + b, stream, std::uint32_t(jb), z);
            for (int q = 0; q < 4 && 4 * jb + q < d; ++q) {
                const std::size_t e = b * d + 4 * jb + q;
                x_next[e] = s > 0.0f ? c * x[e] + dc * v[e] + s * z[q] : c * x[e] + dc * v[e];
            }
        }
    }
};

// y[i] = alpha x[i] + beta y[i].  Reference twin: axpby in src/finetune/adjoint.cpp.
struct Axpby {
    float alpha;
    const float* x;
    float beta;
    float* y;
    HOST_DEVICE void operator()(std::size_t i0, std::size_t i1) const {
        AM_SIMD for (std::size_t i = i0; i < i1; ++i) y[i] = alpha * x[i] + beta * y[i];
    }
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

// x -> 1 if x is NaN or infinite, else 0 (no std::isfinite: the same test on the GPU).
struct NonFinite {
    HOST_DEVICE std::size_t operator()(float x) const { return (x - x == 0.0f) ? 0 : 1; }
};

// One Adam update of element i (see device/optim.hpp).  Reference twin: nn::Adam::step.
struct AdamUpdate {
    float b1, b2, c1, c2, lr, eps, decay, sc;
    const float* g;
    float* m;
    float* v;
    float* w;
    HOST_DEVICE void operator()(std::size_t i0, std::size_t i1) const {
        AM_SIMD for (std::size_t i = i0; i < i1; ++i) {
            const float gi = sc * g[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            w[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps) + decay * w[i];
        }
    }
};

// The flow-matching pair of row r, from per-row path coefficients
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
    HOST_DEVICE void operator()(std::size_t r, int c0, int c1) const {
        const float a = coef[4 * r], b = coef[4 * r + 1], ad = coef[4 * r + 2], bd = coef[4 * r + 3];
        const std::size_t o = r * std::size_t(d);
        AM_SIMD for (int c = c0; c < c1; ++c) {
            xt[o + c] = a * x1[o + c] + b * x0[o + c];
            target[o + c] = ad * x1[o + c] + bd * x0[o + c];
        }
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
    HOST_DEVICE void operator()(std::size_t i0, std::size_t i1) const {
        AM_SIMD for (std::size_t i = i0; i < i1; ++i) {
            const float r = v[i] - target[i];
            sq[i] = r * r;
            v[i] = scale * r;
        }
    }
};

// The moving average of the weights: ema[i] += (1 - decay) (w[i] - ema[i]).
// Reference twin: the EMA loop of flow::train_flow_matching.
struct EMAUpdate {
    float one_minus_decay;
    const float* w;
    float* ema;
    HOST_DEVICE void operator()(std::size_t i0, std::size_t i1) const {
        AM_SIMD for (std::size_t i = i0; i < i1; ++i) ema[i] += one_minus_decay * (w[i] - ema[i]);
    }
};

}  // namespace am::device
