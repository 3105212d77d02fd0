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

double diversity(const Mat<float>& x, Index n_max) {
    const Index n = std::min(rows(x), n_max), d = cols(x);
    if (n < 2) return 0;
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(dynamic, 16)
    for (Index i = 0; i < n; ++i)
        for (Index j = i + 1; j < n; ++j) {
            double q = 0;
            for (Index k = 0; k < d; ++k) {
                const double diff = double(x(i, k)) - x(j, k);
                q += diff * diff;
            }
            s += std::sqrt(q);
        }
    return s / (0.5 * double(n) * double(n - 1));
}

Evaluation evaluate(const Mat<float>& samples, const GaussianMixture& target, const Reward* reward,
                    std::uint64_t seed) {
    Evaluation ev;
    const data::ModeStats ms = data::mode_stats(target, samples);
    ev.weights = ms.weights;
    ev.target_weights = target.weights;
    ev.tv = data::total_variation(ms.weights, target.weights);
    for (Index k = 0; k < target.size(); ++k) {
        double e = 0;
        for (Index i = 0; i < target.dim(); ++i) {
            const double diff = ms.means(k, i) - target.means(k, i);
            e += diff * diff;
        }
        e = std::sqrt(e);
        ev.mean_error.push_back(e);
        if (ms.weights[k] >= 0.01 && std::isfinite(e)) ev.max_mean_error = std::max(ev.max_mean_error, e);
    }
    if (reward) {
        ev.reward_mean = xt::mean(reward->value(samples))();
        ev.reward_exact = expected_reward(target, *reward);
    }
    ev.diversity = diversity(samples);
    Rng rng(seed);
    ev.diversity_target = diversity(target.sample(std::min<Index>(rows(samples), 2000), rng));
    return ev;
}

void Evaluation::check_finite() const {
    const std::pair<const char*, double> figures[] = {
        {"tv", tv}, {"max_mean_error", max_mean_error}, {"reward_mean", reward_mean}, {"reward_exact", reward_exact},
        {"diversity", diversity}, {"diversity_target", diversity_target}};
    for (const auto& [name, v] : figures)
        AM_CHECK(std::isfinite(v), std::string("evaluation: ") + name + " is " + format_number(v) +
                                       " (non-finite samples, target or reward)");
    for (std::size_t k = 0; k < weights.size(); ++k)
        AM_CHECK(std::isfinite(weights[k]) && std::isfinite(target_weights[k]),
                 "evaluation: the weight of mode " + std::to_string(k) + " is not finite (non-finite target)");
}

std::string Evaluation::to_json() const {
    check_finite();
    std::ostringstream s;
    s.precision(6);
    auto list = [&](const std::vector<double>& v) {
        s << "[";
        for (std::size_t i = 0; i < v.size(); ++i) {
            s << (i ? ", " : "");
            if (std::isfinite(v[i])) s << v[i];
            else s << "null";  // an empty mode has no mean
        }
        s << "]";
    };
    s << "{\"tv\": " << tv << ", \"weights\": ";
    list(weights);
    s << ", \"target_weights\": ";
    list(target_weights);
    s << ", \"mean_error\": ";
    list(mean_error);
    s << ", \"max_mean_error\": " << max_mean_error << ", \"reward_mean\": " << reward_mean
      << ", \"reward_exact\": " << reward_exact << ", \"diversity\": " << diversity
      << ", \"diversity_target\": " << diversity_target << "}";
    return s.str();
}

}  // namespace am::finetune
