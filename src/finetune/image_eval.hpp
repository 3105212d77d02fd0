// Reward fine-tuning on images (MNIST): the classifier reward loaded from a
// checkpoint, and the figures that say whether samples are digits, and
// digits of class c.
//
// Everything here takes samples in model space (pixels scaled to [-1, 1],
// data/images.hpp). The evaluation first clamps them to [-1, 1], the picture
// one would see: a sample cannot score through pixel values no image has.
// The reward used for fine-tuning is not clamped (its gradient would vanish
// outside the range).
// Design: docs/design.md#fine-tuning
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "finetune/reward.hpp"
#include "nn/mlp.hpp"

namespace am::finetune {

// "classifier:CKPT,DIGIT" -> (CKPT, DIGIT). One-line am::Error otherwise.
struct ClassifierSpec {
    std::string path;
    int target = 0;
};
bool is_classifier_spec(const std::string& spec);
ClassifierSpec parse_classifier_spec(const std::string& spec);

// r(x) = log softmax(classifier(x))[c], with the classifier loaded from a
// checkpoint and owned here (ClassifierReward only refers to one).
class LoadedClassifierReward : public Reward {
public:
    // The checkpoint must map d inputs to 10 classes; c must be in 0..9.
    LoadedClassifierReward(const ClassifierSpec& spec, Index d);
    LoadedClassifierReward(const LoadedClassifierReward&) = delete;
    LoadedClassifierReward& operator=(const LoadedClassifierReward&) = delete;

    Index dim() const override { return reward_->dim(); }
    ag::Var<float> forward(const ag::Var<float>& x) const override { return reward_->forward(x); }
    std::string describe() const override;
    const nn::MLP<float>& classifier() const { return net_; }
    int target_class() const { return reward_->target_class(); }

private:
    ClassifierSpec spec_;
    nn::MLP<float> net_;
    std::unique_ptr<ClassifierReward> reward_;
};

// Any reward of the command line: classifier:CKPT,DIGIT, or what
// parse_reward knows (linear:..., quadratic:...), for d-dimensional data.
std::unique_ptr<Reward> make_reward(const std::string& spec, Index d);

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
