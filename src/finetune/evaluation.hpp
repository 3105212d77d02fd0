// The figures that compare samples with what fine-tuning should reach:
//   2-D     samples against the exact tilted mixture (finetune/tilt.hpp):
//           mode weights and their total variation, mode means, mean reward,
//           diversity;
//   images  samples seen through a classifier (MNIST): the share of class c,
//           mean log p(c | x), confidence, the label histogram, diversity;
//           and the target's figures estimated by reweighting base samples.
//
// Image samples are in model space (pixels scaled to [-1, 1],
// data/images.hpp); the evaluation first clamps them to [-1, 1], the picture
// one would see: a sample cannot score through pixel values no image has. The
// reward used for fine-tuning is not clamped (its gradient would vanish
// outside the range).
// Design: docs/design.md#exact-fields-and-tilts
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/mixture.hpp"
#include "finetune/reward.hpp"
#include "nn/mlp.hpp"

namespace am::finetune {

// ---- 2-D: against a Gaussian mixture ------------------------------------------------------

// Mean Euclidean distance between pairs of samples (the first n_max rows).
double diversity(const Mat<float>& x, Index n_max = 2000);

// Samples against a target mixture: each sample is assigned to its most
// likely target component.
struct Evaluation {
    std::vector<double> weights, target_weights;  // per mode
    double tv = 0;                     // total variation between the two
    std::vector<double> mean_error;    // ||sample mean - target mean|| per mode
    double max_mean_error = 0;         // over modes holding >= 1% of the samples
    double reward_mean = 0, reward_exact = 0;
    double diversity = 0, diversity_target = 0;
    // Throws am::Error naming the first figure that is NaN or infinite (an
    // empty mode's mean_error is the one exception: JSON null).
    void check_finite() const;
    std::string to_json() const;  // check_finite() first: never prints nan
};
Evaluation evaluate(const Mat<float>& samples, const data::GaussianMixture& target, const Reward* reward,
                    std::uint64_t seed = 0);

// ---- images: through a classifier ---------------------------------------------------------

// Samples seen through a classifier (after clamping to [-1, 1]).
struct ImageEvaluation {
    Index n = 0;                     // samples evaluated
    int target = -1;                 // the class c (-1: none)
    double share_target = 0;         // share whose most probable class is c
    double mean_log_p_target = 0;    // mean log p(c | x)
    double confidence = 0.9;         // the threshold below
    double share_confident = 0;      // share with max_k p(k | x) >= confidence
    std::vector<double> label_share; // share of samples per predicted label (10)
    double label_tv_uniform = 0;     // total variation of label_share to uniform
    double diversity = 0;            // mean pairwise distance of the samples of class c (or all)
    Index diversity_n = 0;           // how many samples that figure used
    double diversity_real = 0;       // the same for real images of class c (0: none given)
    Index diversity_real_n = 0;
    double diversity_ratio() const { return diversity_real > 0 ? diversity / diversity_real : 0; }
    std::string to_json() const;
};

// target < 0: no target class (an unconditional model): share_target and
// mean_log_p_target stay 0 and diversity is over all samples.
// target >= 0: diversity is over the samples CLASSIFIED as c (the "generated
// c's"), real_of_target (optional, model space) gives the real figure.
// Distances are in pixel units ([0, 1] per pixel) over at most n_max rows.
ImageEvaluation evaluate_images(const nn::MLP<float>& classifier, const Mat<float>& samples, int target,
                                const Mat<float>* real_of_target = nullptr, double confidence = 0.9,
                                Index n_max = 1000);

// What fine-tuning should reach, estimated from base samples: the target
// p*(x) ∝ p_base(x) p(c | x)^lambda reweights base samples x_i by
// w_i = p(c | x_i)^lambda (self-normalised importance sampling), so
//   share classified as c under p* ≈ sum_i w_i [argmax p(.|x_i) = c] / sum_i w_i,
//   E_p*[log p(c | x)]          ≈ sum_i w_i log p(c | x_i) / sum_i w_i.
// ess = (sum w)^2 / sum w^2 says how many base samples the estimate rests on.
// Samples are clamped to [-1, 1] first, as in evaluate_images.
struct TiltEstimate {
    double share_target = 0, mean_log_p_target = 0, ess = 0;
};
TiltEstimate estimate_tilt(const nn::MLP<float>& classifier, const Mat<float>& base_samples, int target, double lambda);

}  // namespace am::finetune
