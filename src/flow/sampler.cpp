// Design: docs/design.md#one-step-frame
#include "flow/sampler.hpp"

#include "autograd/engine.hpp"
#include "core/philox.hpp"

#include <cmath>

namespace am::flow {

Scheme parse_scheme(const std::string& name) {
    if (name == "exact") return Scheme::Exact;
    if (name == "paper") return Scheme::Paper;
    if (name == "offset") return Scheme::Offset;
    throw Error("unknown sampler scheme '" + name + "' (expected exact, paper or offset)");
}

std::string scheme_name(Scheme s) {
    switch (s) {
        case Scheme::Exact: return "exact";
        case Scheme::Paper: return "paper";
        case Scheme::Offset: return "offset";
    }
    throw Error("scheme_name: unknown scheme");
}

OdeMethod parse_ode_method(const std::string& name) {
    if (name == "euler") return OdeMethod::Euler;
    if (name == "heun") return OdeMethod::Heun;
    throw Error("unknown ODE method '" + name + "' (expected euler or heun)");
}

namespace {

// int_a^b f(u) du by 8-point Gauss-Legendre. The nodes are interior, so f is
// never evaluated at a or b (f may be singular at t = 1 beyond b, never inside).
template <class F>
double gauss_legendre(F f, double a, double b) {
    static const double x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363};
    static const double w[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763};
    const double m = 0.5 * (a + b), r = 0.5 * (b - a);
    double s = 0;
    for (int i = 0; i < 4; ++i) s += w[i] * (f(m - r * x[i]) + f(m + r * x[i]));
    return r * s;
}

// Euler-Maruyama at t0 with the given kappa, eta, sigma:
//   c = 1 - h sigma^2 kappa / (2 eta), d = h (1 + sigma^2 / (2 eta)), s = sqrt(h) sigma.
Step euler_maruyama_step(double t0, double t1, double kappa, double eta, double sigma) {
    const double h = t1 - t0, g = sigma * sigma / (2 * eta);
    return {t0, t1, 1 - h * g * kappa, h * (1 + g), std::sqrt(h) * sigma};
}

// The exact scheme's step for the memoryless schedule: exp(-int_u^t1 kappa) = alpha(u)/alpha(t1).
Step exact_memoryless_step(const Path& sc, double t0, double t1) {
    if (dynamic_cast<const CondOT*>(&sc)) {  // closed forms (docs/design.md#schemes)
        const double c = t0 / t1;
        const double d = 2 * (t1 * t1 - t0 * t0) / (2 * t1);
        const double s2 = (2 / (t1 * t1)) * ((t1 * t1 - t0 * t0) / 2 - (t1 * t1 * t1 - t0 * t0 * t0) / 3);
        return {t0, t1, c, d, std::sqrt(s2)};
    }
    const double a1 = sc.alpha(t1);
    // d = int (alpha(u)/alpha(t1)) v_gain du with v_gain = 2
    const double d = 2 * gauss_legendre([&](double u) { return sc.alpha(u) / a1; }, t0, t1);
    // s^2 = int (alpha(u)/alpha(t1))^2 2 eta(u) du, where alpha^2 eta = beta (alpha_dot alpha beta - alpha^2 beta_dot)
    // is finite at u = 0 (eta alone is not)
    const double s2 = gauss_legendre(
        [&](double u) {
            const double a = sc.alpha(u), b = sc.beta(u);
            return 2 * b * (sc.alpha_dot(u) * a * b - a * a * sc.beta_dot(u)) / (a1 * a1);
        },
        t0, t1);
    return {t0, t1, sc.alpha(t0) / a1, d, std::sqrt(s2)};
}

// The exact scheme's step for any other sigma (finite x_decay and v_gain on [t0, t1], t1 < 1):
//   Lambda(u) = int_u^t1 x_decay,  c = exp(-Lambda(t0)),
//   d = int exp(-Lambda(u)) v_gain(u) du,  s^2 = int exp(-2 Lambda(u)) sigma^2(u) du,
// each by Gauss-Legendre (Lambda itself too, at every outer node).
Step exact_general_step(const Path& sc, const NoiseSchedule& noise, double t0, double t1) {
    auto x_decay = [&](double u) { return drift_coefficients(sc, noise, u).x_decay; };
    auto Lambda = [&](double u) { return gauss_legendre(x_decay, u, t1); };
    const double c = std::exp(-Lambda(t0));
    const double d = gauss_legendre([&](double u) { return std::exp(-Lambda(u)) * drift_coefficients(sc, noise, u).v_gain; },
                                    t0, t1);
    const double s2 = gauss_legendre(
        [&](double u) {
            const double sig = noise.sigma(sc, u);
            return std::exp(-2 * Lambda(u)) * sig * sig;
        },
        t0, t1);
    return {t0, t1, c, d, std::sqrt(s2)};
}

Step exact_step(const Path& sc, const NoiseSchedule& noise, double t0, double t1) {
    if (noise.kind == NoiseSchedule::Kind::Memoryless) return exact_memoryless_step(sc, t0, t1);
    if (t1 < 1) return exact_general_step(sc, noise, t0, t1);
    // last step of a constant sigma: x_decay, v_gain diverge at t = 1 -> Euler-Maruyama at t0
    const LinearDrift b = drift_coefficients(sc, noise, t0);
    const double h = t1 - t0;
    return {t0, t1, 1 - h * b.x_decay, h * b.v_gain, std::sqrt(h) * noise.sigma(sc, t0)};
}

}  // namespace

StepGrid make_step_grid(const Path& sc, const NoiseSchedule& noise, int K, Scheme scheme) {
    AM_CHECK(K > 0, "the sampler needs a positive number of steps, got " + std::to_string(K));
    const double h = 1.0 / K;
    const bool condot = dynamic_cast<const CondOT*>(&sc) != nullptr;
    AM_CHECK(scheme == Scheme::Exact || condot || noise.kind == NoiseSchedule::Kind::ODE,
             "the " + scheme_name(scheme) + " scheme is written for the CondOT path; use exact for " + sc.name());
    StepGrid grid;
    grid.reserve(std::size_t(K));
    for (int k = 0; k < K; ++k) {
        const double t0 = k * h, t1 = (k + 1 == K) ? 1.0 : (k + 1) * h;
        if (noise.kind == NoiseSchedule::Kind::ODE) {  // plain Euler in every scheme
            grid.push_back({t0, t1, 1, t1 - t0, 0});
            continue;
        }
        switch (scheme) {
            case Scheme::Exact: grid.push_back(exact_step(sc, noise, t0, t1)); break;
            case Scheme::Paper: {
                const double kappa = 1 / (t0 + h), eta = (1 - t0 + h) / (t0 + h);
                const double sigma = noise.kind == NoiseSchedule::Kind::Memoryless ? std::sqrt(2 * eta) : noise.value;
                grid.push_back(euler_maruyama_step(t0, t1, kappa, eta, sigma));
                break;
            }
            case Scheme::Offset: {
                const double kappa = 1 / (t0 + h), eta = (1 - t0) / (t0 + h);  // eta >= h / 1 > 0: t0 <= 1 - h
                const double sigma = noise.kind == NoiseSchedule::Kind::Memoryless ? std::sqrt(2 * eta) : noise.value;
                grid.push_back(euler_maruyama_step(t0, t1, kappa, eta, sigma));
                break;
            }
        }
    }
    return grid;
}

Mat<float> sample_sde(const VelocityField& v, const StepGrid& grid, Mat<float> x, Rng& rng,
                      std::vector<Mat<float>>* trajectory) {
    return sample_sde(v, grid, std::move(x), [&rng](std::size_t, Mat<float>& eps) { rng.fill_normal(eps); },
                      trajectory);
}

void fill_philox(Mat<float>& out, std::uint64_t key, std::uint32_t stream) {
    const Index n = rows(out), d = cols(out);
    for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < d; ++j) out(i, j) = noise(key, std::uint64_t(i), stream, std::uint32_t(j));
}

NoiseSource philox_noise(std::uint64_t key) {
    return [key](std::size_t k, Mat<float>& eps) { fill_philox(eps, key, std::uint32_t(k + 1)); };
}

Mat<float> sample_sde(const VelocityField& v, const StepGrid& grid, Mat<float> x, const NoiseSource& noise,
                      std::vector<Mat<float>>* trajectory) {
    AM_CHECK(cols(x) == v.dim(), "sample_sde: x0 is " + shape_str(x) + " for a field of dimension " +
                                     std::to_string(v.dim()));
    if (trajectory) {
        trajectory->clear();
        trajectory->reserve(grid.size() + 1);
        trajectory->push_back(x);
    }
    Mat<float> eps = Mat<float>::from_shape(x.shape());
    const Index n = Index(x.size());
    for (std::size_t k = 0; k < grid.size(); ++k) {
        const Step& st = grid[k];
        const Mat<float> vel = v.velocity(x, float(st.t0));
        const float c = float(st.c), d = float(st.d), s = float(st.s);
        if (st.s > 0) noise(k, eps);
        float* px = x.data();
        const float* pv = vel.data();
        const float* pe = eps.data();
        if (st.s > 0)
            for (Index i = 0; i < n; ++i) px[i] = c * px[i] + d * pv[i] + s * pe[i];
        else
            for (Index i = 0; i < n; ++i) px[i] = c * px[i] + d * pv[i];
        if (trajectory) trajectory->push_back(x);
    }
    return x;
}

Mat<float> sample_sde(const VelocityField& v, const Path& schedule, const NoiseSchedule& noise, int K, Scheme scheme,
                      Mat<float> x0, Rng& rng, std::vector<Mat<float>>* trajectory) {
    return sample_sde(v, make_step_grid(schedule, noise, K, scheme), std::move(x0), rng, trajectory);
}

Mat<float> sample_ode(const VelocityField& v, Mat<float> x, int K, OdeMethod method,
                      std::vector<Mat<float>>* trajectory) {
    AM_CHECK(K > 0, "the ODE solver needs a positive number of steps, got " + std::to_string(K));
    AM_CHECK(cols(x) == v.dim(), "sample_ode: x0 is " + shape_str(x) + " for a field of dimension " +
                                     std::to_string(v.dim()));
    if (trajectory) {
        trajectory->clear();
        trajectory->reserve(std::size_t(K) + 1);
        trajectory->push_back(x);
    }
    const double h = 1.0 / K;
    const float hf = float(h);
    const Index n = Index(x.size());
    for (int k = 0; k < K; ++k) {
        const float t0 = float(k * h), t1 = (k + 1 == K) ? 1.0f : float((k + 1) * h);
        const Mat<float> v0 = v.velocity(x, t0);
        float* px = x.data();
        const float* p0 = v0.data();
        if (method == OdeMethod::Euler) {
            for (Index i = 0; i < n; ++i) px[i] += hf * p0[i];
        } else {
            Mat<float> xe = x;  // Euler predictor X~
            float* pe = xe.data();
            for (Index i = 0; i < n; ++i) pe[i] += hf * p0[i];
            const Mat<float> v1 = v.velocity(xe, t1);
            const float* p1 = v1.data();
            for (Index i = 0; i < n; ++i) px[i] += 0.5f * hf * (p0[i] + p1[i]);
        }
        if (trajectory) trajectory->push_back(x);
    }
    return x;
}

std::string SamplerSettings::describe() const {
    if (noise.kind == NoiseSchedule::Kind::ODE)
        return std::string("ODE, ") + (ode_method == OdeMethod::Heun ? "heun" : "euler") + ", K = " + std::to_string(K);
    return noise.describe() + " SDE, " + scheme_name(scheme) + " scheme, K = " + std::to_string(K);
}

Mat<float> draw_samples(const VelocityField& v, const Path& path, const SamplerSettings& settings, Index n,
                        Rng& rng, std::vector<Mat<float>>* trajectory) {
    AM_CHECK(n > 0, "draw_samples: the number of samples must be positive, got " + std::to_string(n));
    AM_CHECK(settings.K > 0, "draw_samples: K must be positive, got " + std::to_string(settings.K));
    ag::NoGrad no_tape;
    Mat<float> x0 = rng.normal<float>(n, v.dim());
    if (settings.noise.kind == NoiseSchedule::Kind::ODE)
        return sample_ode(v, std::move(x0), settings.K, settings.ode_method, trajectory);
    return sample_sde(v, make_step_grid(path, settings.noise, settings.K, settings.scheme), std::move(x0), rng,
                      trajectory);
}

}  // namespace am::flow
