// Design: docs/design.md#exact-fields-and-tilts
#include "finetune/evaluation.hpp"

#include <cmath>
#include <sstream>

#include "core/parse.hpp"
#include "data/images.hpp"
#include "finetune/tilt.hpp"
#include "nn/classifier.hpp"

namespace am::finetune {

using data::GaussianMixture;

// ---- 2-D ----------------------------------------------------------------------------------

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

// ---- images -------------------------------------------------------------------------------

ImageEvaluation evaluate_images(const nn::MLP<float>& classifier, const Mat<float>& samples, int target,
                                const Mat<float>* real_of_target, double confidence, Index n_max) {
    const Index n = rows(samples), C = classifier.sizes().back();
    AM_CHECK(n > 0, "image evaluation: no samples");
    AM_CHECK(cols(samples) == classifier.sizes().front(),
             "image evaluation: samples have " + std::to_string(cols(samples)) + " columns, the classifier takes " +
                 std::to_string(classifier.sizes().front()));
    AM_CHECK(target < C, "image evaluation: class " + std::to_string(target) + " is not one of the " +
                             std::to_string(C) + " classes");
    const Mat<float> x = data::clamp_model(samples);
    const Mat<float> p = nn::predict_proba(classifier, x);
    ImageEvaluation ev;
    ev.n = n;
    ev.target = target;
    ev.confidence = confidence;
    ev.label_share.assign(std::size_t(C), 0.0);
    std::vector<Index> of_target;
    double log_p = 0;
    Index confident = 0;
    for (Index i = 0; i < n; ++i) {
        Index best = 0;
        for (Index c = 1; c < C; ++c)
            if (p(i, c) > p(i, best)) best = c;
        ev.label_share[std::size_t(best)] += 1.0 / double(n);
        confident += p(i, best) >= confidence;
        if (target >= 0) {
            log_p += std::log(std::max(double(p(i, target)), 1e-30));
            if (best == target) of_target.push_back(i);
        }
    }
    ev.share_confident = double(confident) / double(n);
    for (const double s : ev.label_share) ev.label_tv_uniform += 0.5 * std::abs(s - 1.0 / double(C));
    Mat<float> pool;
    if (target >= 0) {
        ev.share_target = double(of_target.size()) / double(n);
        ev.mean_log_p_target = log_p / double(n);
        pool = zeros<float>(Index(of_target.size()), cols(x));
        for (std::size_t r = 0; r < of_target.size(); ++r)
            std::copy_n(x.data() + of_target[r] * cols(x), cols(x), pool.data() + Index(r) * cols(x));
    } else {
        pool = x;
    }
    // distances in pixel units: x = 2 p - 1, so ||p - p'|| = ||x - x'|| / 2
    ev.diversity_n = std::min(rows(pool), n_max);
    ev.diversity = 0.5 * diversity(pool, n_max);
    if (real_of_target && rows(*real_of_target) > 0) {
        ev.diversity_real_n = std::min(rows(*real_of_target), n_max);
        ev.diversity_real = 0.5 * diversity(data::clamp_model(*real_of_target), n_max);
    }
    return ev;
}

TiltEstimate estimate_tilt(const nn::MLP<float>& classifier, const Mat<float>& base_samples, int target,
                           double lambda) {
    const Index n = rows(base_samples), C = classifier.sizes().back();
    AM_CHECK(n > 0 && target >= 0 && target < C, "estimate_tilt: needs samples and a class in 0.." + std::to_string(C - 1));
    const Mat<float> p = nn::predict_proba(classifier, data::clamp_model(base_samples));
    // weights relative to the largest, in logs, so that p^lambda cannot underflow to all zeros
    std::vector<double> logw(static_cast<std::size_t>(n));
    double mx = -1e300;
    for (Index i = 0; i < n; ++i) {
        logw[std::size_t(i)] = lambda * std::log(std::max(double(p(i, target)), 1e-300));
        mx = std::max(mx, logw[std::size_t(i)]);
    }
    double sw = 0, sw2 = 0, s_share = 0, s_logp = 0;
    for (Index i = 0; i < n; ++i) {
        const double w = std::exp(logw[std::size_t(i)] - mx);
        Index best = 0;
        for (Index c = 1; c < C; ++c)
            if (p(i, c) > p(i, best)) best = c;
        sw += w;
        sw2 += w * w;
        s_share += w * (best == target);
        s_logp += w * std::log(std::max(double(p(i, target)), 1e-30));
    }
    return {s_share / sw, s_logp / sw, sw * sw / sw2};
}

std::string ImageEvaluation::to_json() const {
    const std::pair<const char*, double> figures[] = {
        {"share_target", share_target}, {"mean_log_p_target", mean_log_p_target}, {"share_confident", share_confident},
        {"label_tv_uniform", label_tv_uniform}, {"diversity", diversity}, {"diversity_real", diversity_real}};
    for (const auto& [name, v] : figures)
        AM_CHECK(std::isfinite(v), std::string("image evaluation: ") + name + " is " + format_number(v) +
                                       " (non-finite samples or classifier)");
    std::ostringstream s;
    s.precision(6);
    s << "{\"n\": " << n;
    if (target >= 0)
        s << ", \"target\": " << target << ", \"share_target\": " << share_target
          << ", \"mean_log_p_target\": " << mean_log_p_target;
    s << ", \"confidence\": " << confidence << ", \"share_confident\": " << share_confident << ", \"label_share\": [";
    for (std::size_t i = 0; i < label_share.size(); ++i) s << (i ? ", " : "") << label_share[i];
    s << "], \"label_tv_uniform\": " << label_tv_uniform << ", \"diversity\": " << diversity
      << ", \"diversity_n\": " << diversity_n;
    if (diversity_real > 0)
        s << ", \"diversity_real\": " << diversity_real << ", \"diversity_real_n\": " << diversity_real_n
          << ", \"diversity_ratio\": " << diversity_ratio();
    s << "}";
    return s.str();
}

}  // namespace am::finetune
