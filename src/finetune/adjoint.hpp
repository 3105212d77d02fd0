// Adjoints and losses of reward fine-tuning, in the discrete frame of
// flow/sampler.hpp: one step of the (fine-tuned) sampler is
//
//   X_{k+1} = c_k X_k + d_k v_ft(X_k, t_k) + s_k eps_k,
//
// and the discretised SOC cost of a trajectory is
//
//   L = sum_k || d_k delta_k ||^2 / (2 s_k^2)  -  lambda r(X_K),
//   delta_k = v_ft(X_k, t_k) - v_base(X_k, t_k).
//
// Adjoint a_k = dL/dX_k, from a_K = -lambda grad r(X_K) backwards:
//   lean  a_k = c_k a_{k+1} + d_k J_base(X_k)^T a_{k+1}            (base only)
//   full  a_k = c_k a_{k+1} + J_ft(X_k)^T (d_k a_{k+1} + (d_k^2/s_k^2) delta_k)
//                          - J_base(X_k)^T ((d_k^2/s_k^2) delta_k)     (exact discrete adjoint)
// When v_ft = v_base the two coincide with the BPTT gradient dL/dX_k.
//
// Adjoint-matching loss (the control applied at step k moves X_{k+1}, so
// u_k pairs with a_{k+1}; docs/design.md#pairing-adjoints-with-steps):
//   1/2 mean over trajectories of sum over chosen k of
//   || (d_k / s_k) delta_k + s_k a_{k+1} ||^2
// (for Euler-Maruyama this is h/2 || u + sigma a ||^2). With the full adjoint
// and every step chosen its parameter gradient equals the BPTT gradient.
// Design: docs/design.md#adjoints
#pragma once

#include <vector>

#include "finetune/model.hpp"
#include "finetune/reward.hpp"
#include "flow/sampler.hpp"

namespace am::finetune {

// a_K = -lambda grad r(X_K). If r_out is given, r(X_K) (B, 1) is stored there.
Mat<float> terminal_adjoint(const Reward& reward, double lambda, const Mat<float>& x1,
                            Mat<float>* r_out = nullptr);

struct Adjoint {
    std::vector<Mat<float>> a;       // K + 1 entries: a[k] = dL/dX_k, (B, d)
    std::vector<Mat<float>> v_base;  // K entries: v_base(X_k, t_k), reused by the loss
};

// traj: X_0 .. X_K (K + 1 states of (B, d)).
Adjoint lean_adjoint(const flow::VelocityField& base, const flow::StepGrid& grid,
                     const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal);

// The bootstrapped lean adjoint (TD(1 - w) in the language of reinforcement
// learning). The loss regresses delta_k(X_k) onto -(s_k^2 / d_k) E[a_{k+1} | X_k],
// so the model itself estimates that conditional mean:
//   g_k(X_k) = -(d_k / s_k^2) delta_k(X_k)  ~  E[a_{k+1} | X_k].
// The recursion propagates a blend of the sampled adjoint and that estimate,
//   a_k = M_k^T ((1 - w_k) a_{k+1} + w_k g_k),   M_k^T v = c_k v + d_k J_base(X_k)^T v,
// with w_k = weight on the steps with t_k < t_max and s_k > 0 (0 elsewhere, and
// on the last step, whose a_K is exact). Since M_k depends on X_k alone,
// E[a_k | X_k] is unchanged wherever g_k is exact: the minimiser of the loss is
// the same, but a trajectory's target carries the Jacobian products of the
// steps ahead only with weight (1 - w) per step, not the product of all of
// them (docs/design.md#the-exact-base-plateau). weight = 0: lean_adjoint.
struct Bootstrap {
    double weight = 0;  // w in [0, 1]
    double t_max = 1;   // bootstrap on the steps with t_k < t_max
    long from_iteration = 0;  // FineTuner: plain lean adjoint before this iteration (from 0)
    static Bootstrap parse(const std::string& spec);  // "W[:TMAX[:FROM]]"; "off" = 0
    std::string describe() const;
};
Adjoint bootstrapped_lean_adjoint(const FineTunedModel& ft, const flow::StepGrid& grid,
                                  const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal,
                                  const Bootstrap& bootstrap);
Adjoint full_adjoint(const FineTunedModel& ft, const flow::StepGrid& grid,
                     const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal);

// Which steps carry the loss.
struct LossSteps {
    enum class Kind { All, Paper, Last } kind = Kind::All;
    int n = 0;  // for Last
    // all | paper (the last K/4 always, plus K/4 drawn from the others:
    // for K = 40, 10 random of the first 30 plus the last 10) | last:N
    static LossSteps parse(const std::string& spec);
    std::vector<int> choose(int K, Rng& rng) const;
    std::string describe() const;
};

// Weight of step k's term, a positive constant per step: it changes how the
// steps share the network's capacity and the gradient, not the per-step
// minimiser delta_k(x) = -(s_k^2 / d_k) E[a_{k+1} | X_k = x].
//   paper     1: the term is (d_k^2 / s_k^2) ||delta_k - delta*_k||^2 up to a
//             constant, weight ~ h t / (1 - t) in velocity units (memoryless CondOT)
//   velocity  h s_k^2 / d_k^2: the term is h ||delta_k + (s_k^2 / d_k) a_{k+1}||^2,
//             every step weighs h in velocity units
//   sqrt      sqrt(h s_k^2 / d_k^2): between the two
// Steps without noise (s_k = 0) keep weight 1.
// Design: docs/design.md#the-exact-base-plateau
enum class LossWeighting { Paper, Velocity, Sqrt };
LossWeighting parse_loss_weighting(const std::string& name);
std::string loss_weighting_name(LossWeighting w);
double loss_weight(const flow::Step& step, LossWeighting w);

struct LossInfo {
    double clipped_fraction = 0;  // share of (trajectory, step) terms dropped by the clip
    Index terms = 0;
};

// The adjoint-matching loss above on the chosen steps. clip > 0 drops every
// term whose value on the continuous scale, ||residual||^2 / (t_{k+1} - t_k)
// = ||u + sigma a||^2 for Euler-Maruyama, exceeds clip (the paper uses
// 1.6 lambda^2); a dropped term contributes no gradient.
// A step with s_k = 0 (sigma = 0: the ODE) has no control to learn: its term
// is (d_k^2 / (t_{k+1} - t_k)) ||delta_k||^2 / 2, which pulls v_ft back onto v_base.
// weighting multiplies step k's terms by loss_weight(grid[k], weighting); the
// clip sees the unweighted term.
ag::Var<float> adjoint_matching_loss(const FineTunedModel& ft, const flow::StepGrid& grid,
                                     const std::vector<Mat<float>>& traj, const Adjoint& adj,
                                     const std::vector<int>& steps, double clip,
                                     LossInfo* info = nullptr, LossWeighting weighting = LossWeighting::Paper);

// The discretised SOC cost L (mean over trajectories) on the autograd tape
// through the whole sampler, for backpropagation through time. eps holds the
// K noise draws (B, d). If states is given it receives the K + 1 states X_k
// as tape nodes (to differentiate with respect to them).
ag::Var<float> bptt_loss(const FineTunedModel& ft, const flow::StepGrid& grid, const Mat<float>& x0,
                         const std::vector<Mat<float>>& eps, const Reward& reward, double lambda,
                         std::vector<ag::Var<float>>* states = nullptr);

}  // namespace am::finetune
