// Samplers: the flow ODE (Euler, Heun) and the same-marginals SDE for any
// noise schedule, on the uniform grid t_k = k / K, k = 0..K.
//
// Every SDE scheme is written in one frame, the step
//
//   X_{k+1} = c_k X_k + d_k v(X_k, t_k) + s_k eps_k,   eps_k ~ N(0, I),
//
// and the fine-tuning code uses exactly these coefficients. With a fine-tuned
// velocity the step is X_{k+1} = c X_k + d v_ft(X_k, t_k) + s eps, so, in
// discrete time and exactly:
//   control cost of step k:   ||d_k (v_ft - v_base)||^2 / (2 s_k^2)
//   lean adjoint:             a_k = c_k a_{k+1} + d_k J_base(X_k, t_k)^T a_{k+1}
// (d_k multiplies v itself, so memoryless Euler-Maruyama has d_k = 2h.)
//
// The continuous SDE is dX = b dt + sigma dB with b = v_gain v - x_decay x,
// v_gain = 1 + sigma^2 / (2 eta), x_decay = sigma^2 kappa / (2 eta) (flow/path.hpp).
// Schemes (h = 1/K; the velocity is always evaluated at t_k):
//
//   exact   the linear part integrated exactly, v frozen at v(X_k, t_k) over
//           [t_k, t_{k+1}] (an exponential integrator):
//             c = exp(-int_{t_k}^{t_{k+1}} x_decay),
//             d = int exp(-int_u^{t_{k+1}} x_decay) v_gain(u) du,
//             s^2 = int exp(-2 int_u^{t_{k+1}} x_decay) sigma^2(u) du.
//           memoryless: exp(-int_u^{t1} kappa) = alpha(u) / alpha(t1), so
//             c = alpha(t_k) / alpha(t_{k+1}), d = 2 int alpha(u)/alpha(t_{k+1}) du,
//             s^2 = int (alpha(u)/alpha(t_{k+1}))^2 2 eta(u) du;
//           for CondOT the closed forms (c = t_k / t_{k+1},
//           d = (t_{k+1}^2 - t_k^2) / t_{k+1}, s^2 = (2 / t_{k+1}^2)
//           [(t_{k+1}^2 - t_k^2)/2 - (t_{k+1}^3 - t_k^3)/3]); other schedules
//           by Gauss-Legendre quadrature of integrands that are finite at
//           t = 0. The first step (c = 0) is well defined.
//           constant sigma: nested Gauss-Legendre quadrature of the three
//           integrals. On the last step (t_{k+1} = 1) x_decay and v_gain diverge (eta_1 = 0):
//           the frozen-v model breaks down there (only the combination
//           v - kappa x = eta * score stays finite), so that one step is
//           Euler-Maruyama at t_k = 1 - h: c = 1 - h x_decay(t_k), d = h v_gain(t_k),
//           s = sqrt(h) sigma.
//   paper   Euler-Maruyama with the offsets of the paper's Algorithm 1
//           (CondOT): kappa -> 1/(t + h), eta -> (1 - t + h)/(t + h), so the
//           memoryless sigma^2 = 2 (1 - t + h)/(t + h); constant sigma keeps
//           its value and uses the same offset kappa and eta.
//   offset  Euler-Maruyama with only 1/t -> 1/(t + h) (the benchmark grid of
//           WORKLOADS.md): kappa = 1/(t + h), eta = (1 - t)/(t + h), memoryless
//           sigma^2 = 2 (1 - t)/(t + h); constant sigma as for paper.
//   Euler-Maruyama step: c = 1 - h sigma^2 kappa / (2 eta), d = h (1 + sigma^2/(2 eta)),
//   s = sqrt(h) sigma, with the (offset) kappa and eta at t_k. Nothing is
//   evaluated at t = 1, where eta = 0: the last evaluation is at t_k = 1 - h.
//
// sigma = 0 (the ODE) gives plain Euler in every scheme: c = 1, d = h, s = 0.
//
// The step's coefficients by path x noise schedule x scheme (t = t_k, t' = t_{k+1}, h = 1/K;
// paper and offset are written for CondOT and refuse VP unless the noise is ode):
//
//   path    noise        scheme   c                   d                             s^2
//   any     ode          any      1                   h                             0
//   CondOT  memoryless   exact    t / t'              (t'^2 - t^2) / t'             (2/t'^2) [(t'^2 - t^2)/2 - (t'^3 - t^3)/3]
//   VP      memoryless   exact    alpha(t)/alpha(t')  2 int_t^t' alpha(u)/alpha(t') du  int_t^t' (alpha(u)/alpha(t'))^2 2 eta(u) du
//   any     constant:S   exact    the three integrals above with x_decay, v_gain, S (nested quadrature);
//                                 the last step (t' = 1) Euler-Maruyama at t
//   CondOT  memoryless   paper    1 - h/(t + h)       2h                            2h (1 - t + h)/(t + h)
//   CondOT  memoryless   offset   1 - h/(t + h)       2h                            2h (1 - t)/(t + h)
//   CondOT  constant:S   paper    1 - h S^2 / (2 (1 - t + h))   h (1 + S^2 (t + h) / (2 (1 - t + h)))   h S^2
//   CondOT  constant:S   offset   1 - h S^2 / (2 (1 - t))       h (1 + S^2 (t + h) / (2 (1 - t)))       h S^2
//
// The t = 0 column: exact has c_0 = 0 (memoryless) and evaluates nothing at t = 0 beyond v(X_0, 0);
// paper and offset replace 1/t by 1/(t + h) (docs/design.md#treatments-of-the-singular-start).
// Design: docs/design.md#one-step-frame
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "flow/path.hpp"
#include "flow/velocity_field.hpp"

namespace am::flow {

struct Step {
    double t0, t1;   // the step's interval; the velocity is evaluated at t0
    double c, d, s;  // X_{k+1} = c X_k + d v(X_k, t0) + s eps_k
};
using StepGrid = std::vector<Step>;

enum class Scheme { Exact, Paper, Offset };
Scheme parse_scheme(const std::string& name);  // "exact" | "paper" | "offset", else am::Error
std::string scheme_name(Scheme s);

// K steps over [0, 1] (see the top of this file). Paper and offset are
// written for the CondOT path: with another schedule and sigma != 0 they
// throw. The last step ends exactly at t = 1.
StepGrid make_step_grid(const Path& schedule, const NoiseSchedule& noise, int K, Scheme scheme);

// SDE samples X_K from X_0 = x0 (N, d) -> (N, d); trajectory (if given) gets
// the K + 1 states X_0..X_K. One draw eps_k = N(0, I) of shape (N, d) per step
// with s_k > 0, in step order, so a seed fixes the samples.
Mat<float> sample_sde(const VelocityField& v, const StepGrid& grid, Mat<float> x0, Rng& rng,
                      std::vector<Mat<float>>* trajectory = nullptr);

// Where the step noise comes from: fills eps (N, d) with the draw of step k
// (called in step order, for the steps with s_k > 0 only).
using NoiseSource = std::function<void(std::size_t k, Mat<float>& eps)>;
// The same sampler with the noise given (the Rng version above is this one
// with rng.fill_normal).
Mat<float> sample_sde(const VelocityField& v, const StepGrid& grid, Mat<float> x0, const NoiseSource& noise,
                      std::vector<Mat<float>>* trajectory = nullptr);

// Philox noise (core/philox.hpp), the thrust engine's: out[i, j] = noise(key, i, stream, j).
// By convention X_0 is stream 0 and the noise of step k stream k + 1 (philox_noise).
void fill_philox(Mat<float>& out, std::uint64_t key, std::uint32_t stream);
NoiseSource philox_noise(std::uint64_t key);

// The same, building the grid make_step_grid(schedule, noise, K, scheme).
Mat<float> sample_sde(const VelocityField& v, const Path& schedule, const NoiseSchedule& noise, int K, Scheme scheme,
                      Mat<float> x0, Rng& rng, std::vector<Mat<float>>* trajectory = nullptr);

enum class OdeMethod { Euler, Heun };
OdeMethod parse_ode_method(const std::string& name);  // "euler" | "heun", else am::Error

// The flow ODE dX/dt = v from x0 (N, d) at t = 0 to t = 1 in K uniform steps -> (N, d);
// trajectory (if given) gets X_0..X_K.
//   Euler: X_{k+1} = X_k + h v(X_k, t_k)
//   Heun:  X~ = X_k + h v(X_k, t_k); X_{k+1} = X_k + h/2 (v(X_k, t_k) + v(X~, t_{k+1}))
//          (second order; its last stage evaluates v at t = 1)
Mat<float> sample_ode(const VelocityField& v, Mat<float> x0, int K, OdeMethod method,
                      std::vector<Mat<float>>* trajectory = nullptr);

// ---- the one sampling entry point -------------------------------------------
//
// Every caller that draws samples (amflow sample, eval's previews, the demos,
// pretrain's pictures, the notebooks) describes the sampler with these
// settings and calls draw_samples. What a setting means:
//
//   noise        scheme    solver
//   ode          (unused)  the flow ODE, K uniform steps of ode_method
//                          (heun: second order, the default; euler: first)
//   memoryless   exact     the SDE on make_step_grid(path, noise, K, scheme):
//   constant:S   paper     X_{k+1} = c_k X_k + d_k v(X_k, t_k) + s_k eps_k
//                offset    (the coefficients of each scheme: top of this file)
//
// Fine-tuning does not use draw_samples for its training trajectories: it
// needs the step grid itself (the adjoint runs backwards over the same
// c_k, d_k, s_k), so "ode" there is Euler on the grid (s_k = 0).
struct SamplerSettings {
    NoiseSchedule noise;                            // sigma(t): ode | constant:S | memoryless
    Scheme scheme = Scheme::Exact;          // for an SDE
    int K = 100;                            // steps over [0, 1]
    OdeMethod ode_method = OdeMethod::Heun;  // for the ODE
    std::string describe() const;            // e.g. "memoryless SDE, exact scheme, K = 40"
};

// n samples of v from X_0 ~ N(0, I) (drawn from rng, then the SDE noise) on
// `path` -> (n, d); trajectory (if given) gets X_0..X_K. No autograd tape.
Mat<float> draw_samples(const VelocityField& v, const Path& path, const SamplerSettings& settings, Index n,
                        Rng& rng, std::vector<Mat<float>>* trajectory = nullptr);

}  // namespace am::flow
