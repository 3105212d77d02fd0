// Adjoint matching's inner loops on the device (see finetune.hpp).
// Design: docs/design.md#the-thrust-engine
#include "device/finetune.hpp"

#include <cmath>
#include <string>

#include <thrust/copy.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/reduce.h>

#include "core/error.hpp"
#include "device/functors.hpp"
#include "device/launch.hpp"

namespace am::device {

namespace {
void copy_block(const float* from, std::size_t n, float* to) { thrust::copy(thrust::device, from, from + n, to); }
}  // namespace

void normal_fill(std::uint64_t key, std::uint32_t stream, std::size_t row0, int B, int d, float* out) {
    for_each_row(std::size_t(B), (d + 3) / 4, NormalFill{key, stream, row0, d, out});
}

void sde_step(const float* x, const float* v, const StepCoef& st, std::uint64_t key, std::uint32_t stream,
              std::size_t row0, int B, int d, float* x_next) {
    for_each_row(std::size_t(B), (d + 3) / 4, SDEStep{x, v, st.c, st.d, st.s, key, stream, row0, d, x_next});
}

namespace {
// slot[k] = j where steps[j] = k, -1 for the steps not chosen; am::Error on a
// step out of range or listed twice.
std::vector<int> slots_of(const std::vector<int>& steps, std::size_t K, const char* who) {
    std::vector<int> slot(K, -1);
    for (std::size_t j = 0; j < steps.size(); ++j) {
        const int k = steps[j];
        AM_CHECK(k >= 0 && k < int(K), std::string(who) + ": step " + std::to_string(k) + " out of range (K = " +
                                           std::to_string(K) + ")");
        AM_CHECK(slot[k] < 0, std::string(who) + ": step " + std::to_string(k) + " chosen twice");
        slot[k] = int(j);
    }
    return slot;
}
}  // namespace

void sample_trajectories(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                         std::uint64_t key, std::size_t row0, int B, Array& traj, FineTuneBuffers& buf,
                         const std::vector<int>& keep) {
    const std::size_t K = grid.size(), block = std::size_t(B) * m.d;
    const std::vector<int> slot = slots_of(keep, K, "device sample_trajectories");
    traj.resize((K + 1) * block);
    buf.v.resize(block);
    buf.tape.resize(m, B);
    buf.loss_tape.resize(m, int(keep.size()) * B);
    buf.g.resize(keep.size() * block);
    normal_fill(key, 0, row0, B, m.d, traj.data());
    for (std::size_t k = 0; k < K; ++k) {
        const float* x = traj.data() + k * block;
        // a chosen step's forward goes to its rows of the loss's tape, its velocities to its block of g
        const int j = slot[k];
        float* v = j >= 0 ? buf.g.data() + std::size_t(j) * block : buf.v.data();
        mlp_forward(m, params, x, nullptr, grid[k].t0, B, v, j >= 0 ? buf.loss_tape : buf.tape,
                    j >= 0 ? j * B : 0);
        sde_step(x, v, grid[k], key, std::uint32_t(k + 1), row0, B, m.d, traj.data() + (k + 1) * block);
    }
}

void lean_adjoint(const MLPLayout& m, const float* base_params, const std::vector<StepCoef>& grid,
                  const Array& traj, int B, Array& a, Array& v_base, FineTuneBuffers& buf) {
    const std::size_t K = grid.size(), block = std::size_t(B) * m.d;
    AM_CHECK(traj.size() == (K + 1) * block && a.size() == (K + 1) * block,
             "device lean_adjoint: the trajectory and the adjoint need " + std::to_string(K + 1) +
                 " blocks of (B, d)");
    // v_base at X_0 .. X_{K-1} (the first K blocks of traj, contiguous): one forward of K B rows
    v_base.resize(K * block);
    buf.t_base.resize(K * std::size_t(B));
    for (std::size_t k = 0; k < K; ++k)
        thrust::fill(thrust::device, buf.t_base.data() + k * B, buf.t_base.data() + (k + 1) * B, grid[k].t0);
    buf.base_tape.resize(m, int(K) * B);
    mlp_forward(m, base_params, traj.data(), buf.t_base.data(), 0.0f, int(K) * B, v_base.data(), buf.base_tape, 0);
    for (std::size_t k = K; k-- > 0;) {
        // a_k = c a_{k+1} + d J_base(X_k)^T a_{k+1}: the VJP on the base's rows of step k into a_k's block,
        // then the axpby
        float* ak = a.data() + k * block;
        const float* ak1 = a.data() + (k + 1) * block;
        mlp_backward(m, base_params, buf.base_tape, int(k) * B, B, ak1, ak, nullptr);
        for_each_range(block, Axpby{grid[k].c, ak1, grid[k].d, ak});
    }
}

void loss_forward(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                  const std::vector<int>& steps, const Array& traj, int B, FineTuneBuffers& buf) {
    const std::size_t S = steps.size(), block = std::size_t(B) * m.d, R = S * std::size_t(B);
    slots_of(steps, grid.size(), "device loss_forward");
    AM_CHECK(traj.size() >= grid.size() * block, "device loss_forward: the trajectory needs " +
                                                     std::to_string(grid.size()) + " blocks of (B, d)");
    buf.x.resize(R * m.d);
    buf.t.resize(R);
    buf.g.resize(R * m.d);
    for (std::size_t j = 0; j < S; ++j) {  // the rows of step k: X_k and t_k, stacked
        const int k = steps[j];
        copy_block(traj.data() + k * block, block, buf.x.data() + j * block);
        thrust::fill(thrust::device, buf.t.data() + j * B, buf.t.data() + (j + 1) * B, grid[k].t0);
    }
    buf.loss_tape.resize(m, int(R));
    mlp_forward(m, params, buf.x.data(), buf.t.data(), 0.0f, int(R), buf.g.data(), buf.loss_tape, 0);
}

LossResult adjoint_matching_loss(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                                 const std::vector<int>& steps, const Array& traj, const Array& a,
                                 const Array& v_base, int B, double clip, float* grad, FineTuneBuffers& buf) {
    AM_CHECK(!steps.empty(), "device adjoint_matching_loss: no steps chosen");
    const std::size_t S = steps.size(), block = std::size_t(B) * m.d, R = S * std::size_t(B);
    slots_of(steps, grid.size(), "device adjoint_matching_loss");
    AM_CHECK(buf.loss_tape.rows == int(R) && buf.g.size() == R * m.d,
             "device adjoint_matching_loss: the forward of the " + std::to_string(S) +
                 " chosen steps is not in the buffers (sample_trajectories with the steps, or loss_forward)");
    buf.vb.resize(R * m.d);
    buf.a1.resize(R * m.d);
    buf.row_loss.resize(R);
    buf.row_drop.resize(R);
    std::vector<float> sc(S), off(S), h(S);
    for (std::size_t j = 0; j < S; ++j) {
        const int k = steps[j];
        const StepCoef& st = grid[k];
        // as the reference: scale d/s (d/sqrt(h) without noise), offset s
        sc[j] = st.s > 0 ? float(double(st.d) / double(st.s)) : float(double(st.d) / std::sqrt(double(st.h)));
        off[j] = st.s > 0 ? st.s : 0.0f;
        h[j] = st.h;
        // the rows of step k: v_base(X_k) and a_{k+1}, stacked as the forward's
        copy_block(v_base.data() + k * block, block, buf.vb.data() + j * block);
        copy_block(a.data() + (k + 1) * block, block, buf.a1.data() + j * block);
    }
    buf.sc.upload(sc.data(), S);
    buf.off.upload(off.data(), S);
    buf.h.upload(h.data(), S);
    // the residual, the clip, the loss terms and dloss/dv_ft in g (v_ft there), then back through the kept forward
    for_each_index(R, AMResidual{buf.vb.data(), buf.a1.data(), buf.sc.data(), buf.off.data(), buf.h.data(), clip,
                                 B, m.d, 1.0f / float(B), buf.g.data(), buf.row_loss.data(), buf.row_drop.data()});
    mlp_backward(m, params, buf.loss_tape, 0, int(R), buf.g.data(), nullptr, grad);
    LossResult res;
    res.terms = long(R);
    res.loss = 0.5 / double(B) *
               thrust::reduce(thrust::device, buf.row_loss.data(), buf.row_loss.data() + R, 0.0);
    res.clipped_fraction =
        thrust::reduce(thrust::device, buf.row_drop.data(), buf.row_drop.data() + R, 0.0) / double(R);
    return res;
}

}  // namespace am::device
