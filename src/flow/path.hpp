// Affine probability paths and noise schedules.
//
//   X_t = alpha_t X1 + beta_t X0,   X0 ~ N(0, I) (t = 0), X1 ~ data (t = 1)
//   kappa_t = alpha_dot / alpha,    eta_t = beta (kappa beta - beta_dot)
//
// For any noise level sigma(t) the SDE
//   dX = [ v + sigma^2 / (2 eta) (v - kappa X) ] dt + sigma dB
// has the same marginals as the flow ODE dX = v dt (sigma = 0). The
// memoryless schedule sigma^2 = 2 eta makes X0 and X1 independent; its drift
// is b = 2 v - kappa X.
// Design: docs/design.md#paths
#pragma once

#include <memory>
#include <string>

#include "core/tensor.hpp"

namespace am::flow {

class Path {
public:
    virtual ~Path() = default;
    virtual double alpha(double t) const = 0;      // multiplies the data X1
    virtual double beta(double t) const = 0;       // multiplies the noise X0
    virtual double alpha_dot(double t) const = 0;
    virtual double beta_dot(double t) const = 0;
    virtual std::string name() const = 0;

    double kappa(double t) const { return alpha_dot(t) / alpha(t); }
    double eta(double t) const { return beta(t) * (kappa(t) * beta(t) - beta_dot(t)); }
};

// Conditional OT / rectified flow: alpha = t, beta = 1 - t;
// kappa = 1/t, eta = (1 - t)/t.
class CondOT : public Path {
public:
    double alpha(double t) const override { return t; }
    double beta(double t) const override { return 1 - t; }
    double alpha_dot(double) const override { return 1; }
    double beta_dot(double) const override { return -1; }
    std::string name() const override { return "condot"; }
};

// Variance preserving, cosine: abar_t = sin^2(pi t / 2) rising from 0 (noise)
// to 1 (data); alpha = sqrt(abar) = sin(pi t/2), beta = sqrt(1 - abar) = cos(pi t/2).
// kappa = (pi/2) cot(pi t/2), eta = (pi/2) cot(pi t/2) (alpha^2 + beta^2 = 1).
class VPCosine : public Path {
public:
    double alpha(double t) const override;
    double beta(double t) const override;
    double alpha_dot(double t) const override;
    double beta_dot(double t) const override;
    std::string name() const override { return "vp-cosine"; }
};

// "condot" | "vp-cosine"
std::unique_ptr<Path> make_path(const std::string& name);

// The noise level sigma(t) of the sampler.
struct NoiseSchedule {
    enum class Kind { ODE, Constant, Memoryless };
    Kind kind = Kind::Memoryless;
    double value = 0;  // sigma, for Constant

    // sigma(t): 0, value, or sqrt(2 eta_t) (infinite at t = 0 for memoryless).
    double sigma(const Path& s, double t) const;
    std::string describe() const;  // "ode", "constant:0.5", "memoryless"
};

// "ode" | "memoryless" | "constant:SIGMA" (SIGMA a positive decimal number);
// anything else (negative, zero, NaN, trailing junk, unknown word) is a
// one-line am::Error.
NoiseSchedule parse_noise(const std::string& spec);

// The SDE drift as a linear combination of v and x:
//   b(x, t) = v_gain v(x, t) - x_decay x,   v_gain = 1 + sigma^2 / (2 eta),  x_decay = sigma^2 kappa / (2 eta).
// Written without 1/alpha, so both are finite at t = 0 for the ODE and for
// a constant sigma:  1/eta = alpha / (beta (alpha_dot beta - alpha beta_dot)).
//   ode:        v_gain = 1, x_decay = 0
//   memoryless: v_gain = 2, x_decay = kappa (infinite at t = 0: the drift itself is)
//   constant:   both diverge at t = 1 (eta_1 = 0); samplers never evaluate them there.
struct LinearDrift {
    double v_gain, x_decay;
};
LinearDrift drift_coefficients(const Path& s, const NoiseSchedule& noise, double t);

// The SDE drift b = v + sigma^2 / (2 eta) (v - kappa x) = v_gain v - x_decay x at one
// time t. x, v: (N, d) -> (N, d).
Mat<float> sde_drift(const Mat<float>& v, const Mat<float>& x, const Path& s, const NoiseSchedule& noise, double t);

// The score of the marginal at time t from the velocity, t in (0, 1):
//   s(x, t) = (v - kappa x) / eta.  x, v: (N, d) -> (N, d).
Mat<float> score_from_velocity(const Mat<float>& v, const Mat<float>& x, const Path& s, double t);

}  // namespace am::flow
