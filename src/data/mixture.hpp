// Gaussian mixture sum_k w_k N(mu_k, S_k) in d dimensions: the data of the
// 2-D demos, the "perfect base model" of the tests (its exact velocity is in
// flow/exact_fields.hpp), and the closed-form target of the fine-tuning
// checks (finetune/).
// Design: docs/design.md#data
#pragma once

#include <vector>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace am::data {

struct GaussianMixture {
    std::vector<double> weights;  // (n), positive, normalised to sum 1 by validate()
    Mat<double> means;            // (n, d)
    std::vector<Mat<double>> covs;  // n matrices (d, d), symmetric positive definite

    Index size() const { return Index(weights.size()); }
    Index dim() const { return cols(means); }

    // Isotropic components: S_k = stds[k]^2 I.
    static GaussianMixture isotropic(std::vector<double> weights, Mat<double> means,
                                     const std::vector<double>& stds);

    // Checks shapes, positivity, symmetry and positive definiteness;
    // normalises the weights. Throws am::Error naming the bad field.
    void validate();

    // N samples (N, d); labels[i] = the component sample i was drawn from.
    Mat<float> sample(Index n, Rng& rng, std::vector<int>* labels = nullptr) const;

    // Posterior responsibilities p(k | x): (N, n).
    Mat<double> responsibilities(const Mat<float>& x) const;

    // log density log p(x): (N, 1).
    Mat<double> log_density(const Mat<float>& x) const;
};

// The default 2-D data: 8 equal-weight components on a circle of radius 4,
// std 0.5.
GaussianMixture default_ring();

// Statistics of samples, each assigned to its most likely component.
struct ModeStats {
    std::vector<double> weights;       // share of samples per component
    Mat<double> means;                 // (n, d) per-component sample means (NaN if empty)
    std::vector<Mat<double>> covs;     // per-component sample covariances
    std::vector<Index> counts;
};
ModeStats mode_stats(const GaussianMixture& mix, const Mat<float>& x);

// Total-variation distance 1/2 sum_k |p_k - q_k| between two weight vectors.
double total_variation(const std::vector<double>& p, const std::vector<double>& q);

}  // namespace am::data
