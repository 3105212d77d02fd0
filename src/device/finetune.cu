// Adjoint matching's inner loops on the device (see finetune.hpp).
// Design: docs/design.md#the-thrust-engine
#include "device/finetune.hpp"

#include <cmath>
#include <string>

#include <thrust/copy.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/reduce.h>

#include "core/error.hpp"
#include "device/functors.hpp"

namespace am::device {

namespace {
template <class F>
void for_each_index(std::size_t n, const F& f) {
    thrust::for_each(thrust::device, thrust::counting_iterator<std::size_t>(0),
                     thrust::counting_iterator<std::size_t>(n), f);
}
void copy_block(const float* from, std::size_t n, float* to) { thrust::copy(thrust::device, from, from + n, to); }
}  // namespace

void normal_fill(std::uint64_t key, std::uint32_t stream, std::size_t row0, int B, int d, float* out) {
    const int nb = (d + 3) / 4;
    for_each_index(std::size_t(B) * nb, NormalFill{key, stream, row0, d, nb, out});
}

void sde_step(const float* x, const float* v, const StepCoef& st, std::uint64_t key, std::uint32_t stream,
              std::size_t row0, int B, int d, float* x_next) {
    const int nb = (d + 3) / 4;
    for_each_index(std::size_t(B) * nb, SDEStep{x, v, st.c, st.d, st.s, key, stream, row0, d, nb, x_next});
}

void sample_trajectories(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                         std::uint64_t key, std::size_t row0, int B, Array& traj, FineTuneBuffers& buf) {
    const std::size_t K = grid.size(), block = std::size_t(B) * m.d;
    traj.resize((K + 1) * block);
    buf.v.resize(block);
    normal_fill(key, 0, row0, B, m.d, traj.data());
    for (std::size_t k = 0; k < K; ++k) {
        const float* x = traj.data() + k * block;
        mlp_forward(m, params, x, nullptr, grid[k].t_net, B, buf.v.data(), buf.tape);
        sde_step(x, buf.v.data(), grid[k], key, std::uint32_t(k + 1), row0, B, m.d, traj.data() + (k + 1) * block);
    }
}

void lean_adjoint(const MLPLayout& m, const float* base_params, const std::vector<StepCoef>& grid,
                  const Array& traj, int B, Array& a, Array& v_base, FineTuneBuffers& buf) {
    const std::size_t K = grid.size(), block = std::size_t(B) * m.d;
    AM_CHECK(traj.size() == (K + 1) * block && a.size() == (K + 1) * block,
             "device lean_adjoint: the trajectory and the adjoint need " + std::to_string(K + 1) +
                 " blocks of (B, d)");
    v_base.resize(K * block);
    for (std::size_t k = K; k-- > 0;) {
        // a_k = c a_{k+1} + d J_base(X_k)^T a_{k+1}: the VJP into a_k's block, then the axpby
        float* ak = a.data() + k * block;
        const float* ak1 = a.data() + (k + 1) * block;
        mlp_forward(m, base_params, traj.data() + k * block, nullptr, grid[k].t_net, B, v_base.data() + k * block,
                    buf.tape);
        mlp_backward(m, base_params, buf.tape, ak1, ak, nullptr);
        for_each_index(block, Axpby{grid[k].c, ak1, grid[k].d, ak});
    }
}

LossResult adjoint_matching_loss(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                                 const std::vector<int>& steps, const Array& traj, const Array& a,
                                 const Array& v_base, int B, double clip, float* grad, FineTuneBuffers& buf) {
    AM_CHECK(!steps.empty(), "device adjoint_matching_loss: no steps chosen");
    const std::size_t S = steps.size(), block = std::size_t(B) * m.d, R = S * std::size_t(B);
    buf.x.resize(R * m.d);
    buf.vb.resize(R * m.d);
    buf.a1.resize(R * m.d);
    buf.g.resize(R * m.d);
    buf.t.resize(R);
    buf.row_loss.resize(R);
    buf.row_drop.resize(R);
    std::vector<float> sc(S), off(S), h(S);
    for (std::size_t j = 0; j < S; ++j) {
        const int k = steps[j];
        AM_CHECK(k >= 0 && k < int(grid.size()), "device adjoint_matching_loss: step " + std::to_string(k) +
                                                       " out of range (K = " + std::to_string(grid.size()) + ")");
        const StepCoef& st = grid[k];
        // as the reference: scale d/s (d/sqrt(h) without noise), offset s
        sc[j] = st.s > 0 ? float(double(st.d) / double(st.s)) : float(double(st.d) / std::sqrt(double(st.h)));
        off[j] = st.s > 0 ? st.s : 0.0f;
        h[j] = st.h;
        // the rows of step k: X_k, v_base(X_k), a_{k+1} and t_k, stacked
        copy_block(traj.data() + k * block, block, buf.x.data() + j * block);
        copy_block(v_base.data() + k * block, block, buf.vb.data() + j * block);
        copy_block(a.data() + (k + 1) * block, block, buf.a1.data() + j * block);
        thrust::fill(thrust::device, buf.t.data() + j * B, buf.t.data() + (j + 1) * B, st.t_net);
    }
    buf.sc.upload(sc.data(), S);
    buf.off.upload(off.data(), S);
    buf.h.upload(h.data(), S);
    // v_ft on all rows at once (into g), then the residual, the clip, the loss terms and dloss/dv_ft in g
    mlp_forward(m, params, buf.x.data(), buf.t.data(), 0.0f, int(R), buf.g.data(), buf.tape);
    for_each_index(R, AMResidual{buf.vb.data(), buf.a1.data(), buf.sc.data(), buf.off.data(), buf.h.data(), clip, B, m.d, 1.0f / float(B), buf.g.data(), buf.row_loss.data(),
                                 buf.row_drop.data()});
    mlp_backward(m, params, buf.tape, buf.g.data(), nullptr, grad);
    LossResult res;
    res.terms = long(R);
    res.loss = 0.5 / double(B) *
               thrust::reduce(thrust::device, buf.row_loss.data(), buf.row_loss.data() + R, 0.0);
    res.clipped_fraction =
        thrust::reduce(thrust::device, buf.row_drop.data(), buf.row_drop.data() + R, 0.0) / double(R);
    return res;
}

}  // namespace am::device
