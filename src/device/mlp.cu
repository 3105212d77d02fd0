// The velocity MLP's forward and backward on the device (see mlp.hpp).
// Design: docs/design.md#the-thrust-engine
#include "device/mlp.hpp"

#include <string>
#include <utility>

#include <thrust/execution_policy.h>
#include <thrust/fill.h>

#include "core/error.hpp"
#include "device/blas.hpp"
#include "device/functors.hpp"
#include "device/launch.hpp"

namespace am::device {

std::size_t MLPLayout::W_offset(int l) const {
    std::size_t off = 0;
    for (int j = 0; j < l; ++j) off += std::size_t(in(j) + 1) * out(j);  // W_j and b_j
    return off;
}

MLPLayout mlp_layout(int d, int width, int depth, const char* where, int time_features, bool data_output) {
    AM_CHECK(d > 0 && width > 0 && depth > 0,
             std::string(where) + ": the velocity MLP needs d, width and depth > 0, got " +
                 std::to_string(d) + ", " + std::to_string(width) + ", " + std::to_string(depth));
    AM_CHECK(time_features >= 0 && time_features <= kMaxTimeFeatures,
             std::string(where) + ": time features must be in 0.." + std::to_string(kMaxTimeFeatures) + ", got " +
                 std::to_string(time_features));
    MLPLayout m;
    m.time_features = time_features;
    m.data_output = data_output;
    m.d = d;
    m.width = width;
    m.depth = depth;
    return m;
}

const float* MLPTape::h_layer(const MLPLayout& m, int l) const {
    return l == 0 ? h.data() : h.data() + std::size_t(rows) * m.in(0) + std::size_t(l - 1) * rows * m.width;
}
float* MLPTape::h_layer(const MLPLayout& m, int l) {
    return const_cast<float*>(static_cast<const MLPTape*>(this)->h_layer(m, l));
}
const float* MLPTape::s_layer(const MLPLayout& m, int l) const {
    return s.data() + std::size_t(l) * rows * m.width;
}
float* MLPTape::s_layer(const MLPLayout& m, int l) {
    return const_cast<float*>(static_cast<const MLPTape*>(this)->s_layer(m, l));
}

void MLPTape::resize(const MLPLayout& m, int n_rows) {
    AM_CHECK(n_rows >= 0, "MLPTape::resize: negative number of rows " + std::to_string(n_rows));
    const std::size_t n = std::size_t(n_rows), H = std::size_t(m.width);
    rows = n_rows;
    h.resize(n * std::size_t(m.in(0)) + std::size_t(m.depth) * n * H);
    s.resize(std::size_t(m.depth) * n * H);
}

namespace {
void check_block(const MLPTape& tape, int row0, int N, const char* who) {
    AM_CHECK(row0 >= 0 && N >= 0 && row0 + N <= tape.rows,
             std::string(who) + ": rows [" + std::to_string(row0) + ", " + std::to_string(row0 + N) +
                 ") of a tape holding " + std::to_string(tape.rows));
}
}  // namespace

void mlp_forward(const MLPLayout& m, const float* params, const float* x, const float* t_rows,
                 float t_value, int N, float* v, MLPTape& tape, int row0) {
    check_block(tape, row0, N, "mlp_forward");
    if (N == 0) return;
    const std::size_t n = std::size_t(N), r0 = std::size_t(row0);
    for_each_row(n, m.in(0), ConcatTime{x, t_rows, t_value, m.d, m.time_features, tape.h_layer(m, 0) + r0 * m.in(0)});
    for (int l = 0; l < m.depth; ++l) {
        // z_l = h_l W_l into s_l's rows, then (BiasSiLU) + b_l, s_l = sigmoid(z_l), h_{l+1} = z_l s_l
        float* zs = tape.s_layer(m, l) + r0 * m.width;
        gemm(false, false, N, m.width, m.in(l), 1.0f, tape.h_layer(m, l) + r0 * m.in(l), m.in(l),
             params + m.W_offset(l), m.out(l), 0.0f, zs, m.width);
        for_each_row(n, m.width, BiasSiLU{params + m.b_offset(l), m.width, zs, tape.h_layer(m, l + 1) + r0 * m.width});
    }
    const int L = m.depth;
    gemm(false, false, N, m.d, m.width, 1.0f, tape.h_layer(m, L) + r0 * m.width, m.width, params + m.W_offset(L),
         m.d, 0.0f, v, m.d);
    for_each_row(n, m.d, AddBias{params + m.b_offset(L), m.d, v});
    if (m.data_output)
        for_each_row(n, m.d, DataToVelocity{tape.h_layer(m, 0) + r0 * m.in(0), m.in(0), m.d, x, nullptr, v});
}

void mlp_backward(const MLPLayout& m, const float* params, MLPTape& tape, int row0, int N, const float* g,
                  float* gx, float* grad) {
    check_block(tape, row0, N, "mlp_backward");
    const std::size_t n = std::size_t(N), H = std::size_t(m.width), r0 = std::size_t(row0);
    if (grad && N == 0) thrust::fill(thrust::device, grad, grad + m.size(), 0.0f);
    if (N == 0 || (!gx && !grad)) return;
    tape.g0.resize(n * H);
    tape.g1.resize(n * H);
    if (grad && tape.ones.size() < n) {
        tape.ones.resize(n);
        tape.ones.fill(1.0f);
    }
    // the block's rows of h_l (N, in(l)) and s_l (N, H)
    auto h_of = [&](int l) { return tape.h_layer(m, l) + r0 * m.in(l); };
    auto s_of = [&](int l) { return tape.s_layer(m, l) + r0 * H; };
    const int L = m.depth;
    if (m.data_output) {  // from here on g is the cotangent of D: g / max(1 - t, 0.05) (gx gets -g below)
        tape.gd.resize(n * std::size_t(m.d));
        for_each_row(n, m.d, DataToVelocity{h_of(0), m.in(0), m.d, nullptr, g, tape.gd.data()});
        g = tape.gd.data();
    }
    if (grad) {  // output layer: dW_L = h_L^T g (H, d), db_L = 1^T g (d)
        gemm(true, false, m.width, m.d, N, 1.0f, h_of(L), m.width, g, m.d, 0.0f, grad + m.W_offset(L), m.d);
        gemm(false, false, 1, m.d, N, 1.0f, tape.ones.data(), N, g, m.d, 0.0f, grad + m.b_offset(L), m.d);
    }
    // gh_L = g W_L^T (N, H)
    float* gz = tape.g0.data();
    float* gh = tape.g1.data();
    gemm(false, true, N, m.width, m.d, 1.0f, g, m.d, params + m.W_offset(L), m.d, 0.0f, gz, m.width);
    for (int l = L - 1; l >= 0; --l) {
        // gz_l = gh_{l+1} * silu'(z_l) = gh_{l+1} * (s_l + h_{l+1} (1 - s_l)), in place
        for_each_range(n * H, SiLUBackward{s_of(l), h_of(l + 1), gz});
        if (grad) {  // dW_l = h_l^T gz_l (in, H), db_l = 1^T gz_l (H)
            gemm(true, false, m.in(l), m.width, N, 1.0f, h_of(l), m.in(l), gz, m.width, 0.0f, grad + m.W_offset(l),
                 m.width);
            gemm(false, false, 1, m.width, N, 1.0f, tape.ones.data(), N, gz, m.width, 0.0f,
                 grad + m.b_offset(l), m.width);
        }
        if (l > 0) {  // gh_l = gz_l W_l^T (N, H)
            gemm(false, true, N, m.width, m.width, 1.0f, gz, m.width, params + m.W_offset(l), m.width, 0.0f, gh,
                 m.width);
            std::swap(gz, gh);
        } else if (gx) {  // gx = gz_0 W_0[0:d, :]^T (N, d): the rows of W_0 that multiply x (not t)
            gemm(false, true, N, m.d, m.width, 1.0f, gz, m.width, params + m.W_offset(0), m.width, 0.0f, gx, m.d);
            if (m.data_output) for_each_range(n * std::size_t(m.d), Axpby{-1.0f, g, 1.0f, gx});  // v = (D - x) / gap: -g_D
        }
    }
}

}  // namespace am::device
