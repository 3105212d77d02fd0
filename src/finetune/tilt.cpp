// Design: docs/design.md#exact-fields-and-tilts
#include "finetune/tilt.hpp"

#include "core/linalg.hpp"

#include <cmath>
#include <sstream>

#include "core/parse.hpp"

namespace am::finetune {

using data::GaussianMixture;

namespace {

std::vector<double> row(const Mat<double>& m, Index i) {
    std::vector<double> r(cols(m));
    for (Index j = 0; j < cols(m); ++j) r[j] = m(i, j);
    return r;
}

// w_k ∝ exp(logw_k), normalised stably.
std::vector<double> normalise_log(const std::vector<double>& logw) {
    double m = -INFINITY;
    for (double v : logw) m = std::max(m, v);
    std::vector<double> w(logw.size());
    double s = 0;
    for (std::size_t k = 0; k < w.size(); ++k) s += (w[k] = std::exp(logw[k] - m));
    for (double& v : w) v /= s;
    return w;
}

}  // namespace

GaussianMixture tilt_linear(const GaussianMixture& base, const std::vector<double>& c, double lambda) {
    const Index n = base.size(), d = base.dim();
    AM_CHECK(Index(c.size()) == d, "tilt_linear: c has the wrong dimension");
    GaussianMixture out = base;
    std::vector<double> logw(n);
    for (Index k = 0; k < n; ++k) {
        double cmu = 0, cSc = 0;
        for (Index i = 0; i < d; ++i) {
            cmu += c[i] * base.means(k, i);
            double Sc = 0;
            for (Index j = 0; j < d; ++j) Sc += base.covs[k](i, j) * c[j];
            out.means(k, i) = base.means(k, i) + lambda * Sc;
            cSc += c[i] * Sc;
        }
        logw[k] = std::log(base.weights[k]) + lambda * cmu + 0.5 * lambda * lambda * cSc;
    }
    out.weights = normalise_log(logw);
    return out;
}

GaussianMixture tilt_quadratic(const GaussianMixture& base, const std::vector<double>& a, double tau,
                               double lambda) {
    const Index n = base.size(), d = base.dim();
    AM_CHECK(Index(a.size()) == d && tau > 0 && lambda > 0,
             "tilt_quadratic: needs a of the data's dimension, tau > 0 and lambda > 0");
    GaussianMixture out = base;
    std::vector<double> logw(n);
    const double prec = lambda / (tau * tau);
    for (Index k = 0; k < n; ++k) {
        Mat<double> P = linalg::spd_inverse(base.covs[k]);
        std::vector<double> rhs(d, 0.0);
        for (Index i = 0; i < d; ++i) {
            for (Index j = 0; j < d; ++j) rhs[i] += P(i, j) * base.means(k, j);
            rhs[i] += prec * a[i];
            P(i, i) += prec;
        }
        out.covs[k] = linalg::spd_inverse(P);
        for (Index i = 0; i < d; ++i) {
            double m = 0;
            for (Index j = 0; j < d; ++j) m += out.covs[k](i, j) * rhs[j];
            out.means(k, i) = m;
        }
        Mat<double> Sw = base.covs[k];
        for (Index i = 0; i < d; ++i) Sw(i, i) += tau * tau / lambda;
        logw[k] = std::log(base.weights[k]) + linalg::log_normal(a, row(base.means, k), Sw);
    }
    out.weights = normalise_log(logw);
    return out;
}

GaussianMixture exact_tilt(const GaussianMixture& base, const Reward& reward, double lambda) {
    if (auto* lin = dynamic_cast<const LinearReward*>(&reward))
        return tilt_linear(base, std::vector<double>(lin->c().begin(), lin->c().end()), lambda);
    if (auto* q = dynamic_cast<const QuadraticReward*>(&reward))
        return tilt_quadratic(base, std::vector<double>(q->a().begin(), q->a().end()), q->tau(), lambda);
    throw Error("exact tilt: known in closed form for linear and quadratic rewards only, not " +
                reward.describe());
}

double expected_reward(const GaussianMixture& mix, const Reward& reward) {
    double e = 0;
    for (Index k = 0; k < mix.size(); ++k) {
        double ek = 0;
        if (auto* lin = dynamic_cast<const LinearReward*>(&reward)) {
            for (Index i = 0; i < mix.dim(); ++i) ek += lin->c()[i] * mix.means(k, i);
        } else if (auto* q = dynamic_cast<const QuadraticReward*>(&reward)) {
            // E||x - a||^2 = ||mu - a||^2 + tr S
            for (Index i = 0; i < mix.dim(); ++i) {
                const double diff = mix.means(k, i) - q->a()[i];
                ek += diff * diff + mix.covs[k](i, i);
            }
            ek *= -0.5 / (double(q->tau()) * q->tau());
        } else {
            throw Error("expected reward: closed form for linear and quadratic rewards only");
        }
        e += mix.weights[k] * ek;
    }
    return e;
}

}  // namespace am::finetune
