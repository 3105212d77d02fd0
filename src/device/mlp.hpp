// The velocity network nn::VelocityMLP(d, H, L) on the device, as plain
// routines over raw device pointers:
//
//   h0 = concat(x, t)                       (N, d + 1)
//        (with F time features: concat(x, t, phi(t)), (N, d + 1 + 2F), nn::time_inputs)
//   z_l = h_l W_l + b_l,  h_{l+1} = silu(z_l),   l = 0 .. L - 1,   z_l, h_{l+1} (N, H)
//   v = h_L W_L + b_L                       (N, d)
//        (a data output: D = h_L W_L + b_L and v = (D - x) / max(1 - t, 0.05), nn::VelocityOutput)
//
// Parameters are one flat float array in the order and layout of
// nn::VelocityMLP::parameters(): W0 (in(0), H) row-major, b0 (H), W1 (H, H),
// b1, ..., W_L (H, d), b_L (d). The gradient has the same layout.
//
// forward() keeps h_l and s_l = sigmoid(z_l) in an MLPTape (what the backward needs), for a
// block of rows [row0, row0 + N) of the tape: a tape may hold several forwards
// stacked (the sampler's steps; the base at every state of a trajectory) and
// be differentiated block by block or at once. backward() takes a cotangent
// g (N, d) of v on such a block and forms, as asked,
//   the input VJP  gx = g^T dv/dx   (N, d)  (the lean adjoint's product: no weight gradient),
//   the parameter gradient  dW_l = h_l^T gz_l,  db_l = 1^T gz_l,
// with gz_L = g, gh_l = gz_l W_l^T, gz_{l-1} = gh_l * silu'(z_{l-1}),
// silu'(z) = s + h (1 - s) from the kept s_{l-1} and h_l (no exp in the backward).
// Reference twins: nn::VelocityMLP::forward (src/nn/mlp.cpp) on the autograd
// tape, NetworkVelocity::vjp (src/flow/network_field.cpp), ag::grad; compared
// in tests/test_device.cpp.
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstddef>

#include "device/array.hpp"

namespace am::device {

constexpr int kMaxTimeFeatures = 24;  // = nn::kMaxTimeFeatures (checked in device/bridge.cpp)

// Sizes and offsets of the flat parameter array of VelocityMLP(d, H, L).
struct MLPLayout {
    int d = 0, width = 0, depth = 0, time_features = 0;
    bool data_output = false;  // the last layer outputs the denoiser D (nn::VelocityOutput::Data)

    int layers() const { return depth + 1; }  // L hidden + the output layer
    int in(int l) const { return l == 0 ? d + 1 + 2 * time_features : width; }
    int out(int l) const { return l == depth ? d : width; }
    std::size_t W_offset(int l) const;  // W_l (in(l), out(l)) row-major
    std::size_t b_offset(int l) const { return W_offset(l) + std::size_t(in(l)) * out(l); }
    std::size_t size() const { return W_offset(layers()); }  // number of parameters
};

// Checks d, H, L > 0 and 0 <= F <= 24 (one-line am::Error naming `where` otherwise).
MLPLayout mlp_layout(int d, int width, int depth, const char* where, int time_features = 0,
                     bool data_output = false);

// What the forwards keep for the backward, and the backward's scratch:
// allocated for the most rows seen and reused.
struct MLPTape {
    int rows = 0;    // rows the tape holds (resize)
    Array h;         // h_0 (rows, in(0)), then h_1 .. h_L (rows, H) each
    Array s;         // s_l = sigmoid(z_l), l = 0 .. L-1 (rows, H) each
    Array g0, g1;    // backward scratch (rows, H) each
    Array gd;        // a data output's cotangent of D (rows, d)
    Array ones;      // (rows) ones: bias gradients as 1^T gz, one product
    // Holds `rows` rows from now on (storage grows, never shrinks; contents undefined).
    void resize(const MLPLayout& m, int rows);
    const float* h_layer(const MLPLayout& m, int l) const;
    float* h_layer(const MLPLayout& m, int l);
    float* s_layer(const MLPLayout& m, int l);
    const float* s_layer(const MLPLayout& m, int l) const;
};

// v (N, d) = net(x (N, d), t); t per row (t_rows, N values) or, when t_rows is
// nullptr, t_value for every row. Fills the rows [row0, row0 + N) of the tape,
// which must hold them (tape.resize first; am::Error otherwise).
void mlp_forward(const MLPLayout& m, const float* params, const float* x, const float* t_rows,
                 float t_value, int N, float* v, MLPTape& tape, int row0);

// The backward of the forward kept in the rows [row0, row0 + N) of `tape`
// (the same params) for the cotangent g (N, d).
// gx (N, d) = g^T dv/dx when not nullptr; grad (m.size()) = g^T dv/dtheta,
// written (not accumulated), when not nullptr.
void mlp_backward(const MLPLayout& m, const float* params, MLPTape& tape, int row0, int N, const float* g,
                  float* gx, float* grad);

}  // namespace am::device
