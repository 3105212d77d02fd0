// Adjoint matching's inner loops on the device (docs/design.md#the-thrust-engine),
// in the discrete frame of flow/sampler.hpp:
//
//   step        X_{k+1} = c_k X_k + d_k v_ft(X_k, t_k) + s_k eps_k          (fused: one pass)
//   adjoint     a_k = c_k a_{k+1} + d_k J_base(X_k)^T a_{k+1}                 (lean)
//   loss        (1/2B) sum over chosen k, trajectories b of keep ||(d_k/s_k) delta_k + s_k a_{k+1}||^2
//
// with the noise drawn by Philox (core/philox.hpp): X_0[b, j] = noise(key, row0 + b, 0, j),
// eps_k[b, j] = noise(key, row0 + b, k + 1, j). States, adjoints and base
// velocities of one batch are stacked by step: block k of a trajectory array
// holds X_k (B, d) at offset k B d.
//
// Work per iteration: the sampler's K forwards of v_ft (B rows each: the steps
// are sequential); the base at all K states in ONE forward of K B stacked rows
// (independent given the trajectory), then K input VJPs on its blocks (the
// recursion is sequential); the loss differentiates the forwards the sampler
// kept for the chosen steps (same weights, same states: no second forward).
// Reference twins: flow::sample_sde, finetune::lean_adjoint and
// finetune::adjoint_matching_loss (src/flow/sampler.cpp, src/finetune/adjoint.cpp).
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstdint>
#include <vector>

#include "device/array.hpp"
#include "device/mlp.hpp"

namespace am::device {

// The coefficients of one step of a flow::StepGrid, in float as the reference uses them.
struct StepCoef {
    float t0, c, d, s, h;  // the velocity's time t0, h = t1 - t0
};

// out (B, d) = noise(key, row0 + b, stream, j).
void normal_fill(std::uint64_t key, std::uint32_t stream, std::size_t row0, int B, int d, float* out);

// The fused Euler-Maruyama step of the frame: x_next (B, d) = c x + d v + s noise(key, row0 + b, stream, j)
// (no noise when s = 0). Reference twin: the loop of flow::sample_sde.
void sde_step(const float* x, const float* v, const StepCoef& st, std::uint64_t key, std::uint32_t stream,
              std::size_t row0, int B, int d, float* x_next);

// Scratch reused across iterations.
struct FineTuneBuffers {
    MLPTape tape;                  // (B rows) the sampler's steps the loss does not use
    MLPTape loss_tape;             // (R rows) v_ft's forwards at the chosen steps, R = chosen steps x B
    MLPTape base_tape;             // (K B rows) the base's forward at X_0 .. X_{K-1}
    Array v;                       // (B, d) velocities of one step
    Array x, vb, a1, g;            // (R, d) the loss's stacked rows (g: v_ft, then dloss/dv_ft)
    Array t, row_loss, row_drop;   // (R)
    Array t_base;                  // (K B) the base forward's times
    Array sc, off, h;              // (chosen steps)
};

// X_0 .. X_K of B trajectories of the model `params` into traj ((K + 1) B d).
// The forwards at the steps `keep` (distinct steps, in the loss's order; may
// be empty) stay in buf.loss_tape and their velocities in buf.g, stacked in
// that order: what adjoint_matching_loss differentiates.
void sample_trajectories(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                         std::uint64_t key, std::size_t row0, int B, Array& traj, FineTuneBuffers& buf,
                         const std::vector<int>& keep);

// The lean adjoint along traj from a_K (the last block of `a`, set by the caller):
// fills the blocks a_0 .. a_{K-1} of a ((K + 1) B d) and v_base ((K B d)) = v_base(X_k, t_k).
void lean_adjoint(const MLPLayout& m, const float* base_params, const std::vector<StepCoef>& grid,
                  const Array& traj, int B, Array& a, Array& v_base, FineTuneBuffers& buf);

// The forward the loss differentiates, for trajectories that did not come from
// sample_trajectories with these steps: v_ft (the network `params`) at X_k,
// t_k of every chosen step, stacked, into buf.loss_tape and buf.g.
void loss_forward(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                  const std::vector<int>& steps, const Array& traj, int B, FineTuneBuffers& buf);

struct LossResult {
    double loss = 0;
    double clipped_fraction = 0;
    long terms = 0;
};

// The adjoint-matching loss on the chosen steps for v_ft = the network `params`
// (a trainable copy of the base: delta = v_ft - v_base) and its parameter
// gradient into grad (m.size()). clip > 0 drops a term whose ||residual||^2 / h
// exceeds clip; a step with s = 0 has the residual (d / sqrt(h)) delta.
// v_ft and its forward are read from buf, as sample_trajectories (given
// `steps`) or loss_forward left them; `params` must be the weights they used.
LossResult adjoint_matching_loss(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid,
                                 const std::vector<int>& steps, const Array& traj, const Array& a,
                                 const Array& v_base, int B, double clip, float* grad, FineTuneBuffers& buf);

}  // namespace am::device
