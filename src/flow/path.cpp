// Design: docs/design.md#paths
#include "flow/path.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/parse.hpp"

namespace am::flow {

double VPCosine::alpha(double t) const { return std::sin(M_PI * t / 2); }
// cos(pi t / 2) written as sin(pi (1 - t) / 2), so that beta(1) is exactly 0
double VPCosine::beta(double t) const { return std::sin(M_PI * (1 - t) / 2); }
double VPCosine::alpha_dot(double t) const { return M_PI / 2 * std::cos(M_PI * t / 2); }
double VPCosine::beta_dot(double t) const { return -M_PI / 2 * std::cos(M_PI * (1 - t) / 2); }

std::unique_ptr<Path> make_path(const std::string& name) {
    if (name == "condot") return std::make_unique<CondOT>();
    if (name == "vp-cosine") return std::make_unique<VPCosine>();
    throw Error("unknown path '" + name + "' (expected condot or vp-cosine)");
}

double NoiseSchedule::sigma(const Path& s, double t) const {
    switch (kind) {
        case Kind::ODE: return 0;
        case Kind::Constant: return value;
        case Kind::Memoryless: return std::sqrt(2 * s.eta(t));
    }
    throw Error("NoiseSchedule::sigma: unknown noise kind");
}

std::string NoiseSchedule::describe() const {
    switch (kind) {
        case Kind::ODE: return "ode";
        case Kind::Constant: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.15g", value);
            return "constant:" + std::string(buf);
        }
        case Kind::Memoryless: return "memoryless";
    }
    throw Error("NoiseSchedule::describe: unknown noise kind");
}

NoiseSchedule parse_noise(const std::string& spec) {
    NoiseSchedule n;
    if (spec == "ode") {
        n.kind = NoiseSchedule::Kind::ODE;
        return n;
    }
    if (spec == "memoryless") return n;
    const std::string prefix = "constant:";
    if (spec.rfind(prefix, 0) == 0) {
        const std::string num = spec.substr(prefix.size());
        const auto v = parse_double(num);
        AM_CHECK(v && std::isfinite(*v),
                 "noise schedule '" + spec + "': constant:SIGMA needs a positive decimal number SIGMA");
        AM_CHECK(*v > 0, "noise schedule '" + spec + "': SIGMA must be positive (use ode for sigma = 0)");
        n.kind = NoiseSchedule::Kind::Constant;
        n.value = *v;
        return n;
    }
    throw Error("noise schedule '" + spec + "': expected ode, memoryless or constant:SIGMA");
}

LinearDrift drift_coefficients(const Path& s, const NoiseSchedule& noise, double t) {
    switch (noise.kind) {
        case NoiseSchedule::Kind::ODE: return {1.0, 0.0};
        case NoiseSchedule::Kind::Memoryless: return {2.0, s.kappa(t)};  // sigma^2 / (2 eta) = 1
        case NoiseSchedule::Kind::Constant: {
            const double a = s.alpha(t), b = s.beta(t), ad = s.alpha_dot(t), bd = s.beta_dot(t);
            const double half_s2 = noise.value * noise.value / 2;
            const double den = b * (ad * b - a * bd);  // alpha eta
            return {1 + half_s2 * a / den, half_s2 * ad / den};
        }
    }
    throw Error("drift_coefficients: unknown noise kind");
}

Mat<float> sde_drift(const Mat<float>& v, const Mat<float>& x, const Path& s, const NoiseSchedule& noise, double t) {
    AM_CHECK(v.shape() == x.shape(), "sde_drift: v is " + shape_str(v) + ", x is " + shape_str(x));
    const LinearDrift c = drift_coefficients(s, noise, t);
    const float v_gain = float(c.v_gain), x_decay = float(c.x_decay);
    Mat<float> out = Mat<float>::from_shape(x.shape());
    const float* pv = v.data();
    const float* px = x.data();
    float* po = out.data();
    for (std::size_t i = 0; i < out.size(); ++i) po[i] = v_gain * pv[i] - x_decay * px[i];
    return out;
}

Mat<float> score_from_velocity(const Mat<float>& v, const Mat<float>& x, const Path& s, double t) {
    AM_CHECK(v.shape() == x.shape(), "score_from_velocity: v is " + shape_str(v) + ", x is " + shape_str(x));
    AM_CHECK(t > 0 && t < 1, "score_from_velocity: t = " + std::to_string(t) + " is outside (0, 1)");
    const float k = float(s.kappa(t)), e = float(s.eta(t));
    Mat<float> out = Mat<float>::from_shape(x.shape());
    const float* pv = v.data();
    const float* px = x.data();
    float* po = out.data();
    for (std::size_t i = 0; i < out.size(); ++i) po[i] = (pv[i] - k * px[i]) / e;
    return out;
}

}  // namespace am::flow
