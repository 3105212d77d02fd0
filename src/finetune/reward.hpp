// Reward models r(x). The fine-tuning target is p_base(x) exp(lambda r(x));
// lambda is applied by the fine-tuning code, not here.
// Design: docs/design.md#control-and-the-tilted-target
#pragma once

#include <memory>
#include <string>

#include "autograd/ops.hpp"
#include "core/tensor.hpp"
#include "nn/mlp.hpp"

namespace am::finetune {

class Reward {
public:
    virtual ~Reward() = default;
    virtual Index dim() const = 0;
    // r(x) on the tape: x (N, d) -> (N, 1).
    virtual ag::Var<float> forward(const ag::Var<float>& x) const = 0;
    virtual std::string describe() const = 0;

    // r(x) values, (N, 1).
    Mat<float> value(const Mat<float>& x) const;
    // grad_x r(x), (N, d): one vector-Jacobian product with cotangent 1.
    Mat<float> grad(const Mat<float>& x, Mat<float>* r_out = nullptr) const;
};

// r(x) = c . x
class LinearReward : public Reward {
public:
    explicit LinearReward(std::vector<float> c);
    Index dim() const override { return Index(c_.size()); }
    ag::Var<float> forward(const ag::Var<float>& x) const override;
    std::string describe() const override;
    const std::vector<float>& c() const { return c_; }

private:
    std::vector<float> c_;
    Mat<float> c_col_;  // (d, 1)
};

// r(x) = -||x - a||^2 / (2 tau^2)
class QuadraticReward : public Reward {
public:
    QuadraticReward(std::vector<float> a, float tau);
    Index dim() const override { return Index(a_.size()); }
    ag::Var<float> forward(const ag::Var<float>& x) const override;
    std::string describe() const override;
    const std::vector<float>& a() const { return a_; }
    float tau() const { return tau_; }

private:
    std::vector<float> a_;
    float tau_;
    Mat<float> a_row_;  // (1, d)
};

// r(x) = log softmax(classifier(x))[c]: the log-probability of class c.
// With lambda = 1 the tilted target p_base(x) p(c | x) is the class-
// conditional distribution. The classifier must be frozen (nn::freeze) where
// it is built, and must outlive the reward.
class ClassifierReward : public Reward {
public:
    ClassifierReward(const nn::MLP<float>& classifier, int target_class);
    Index dim() const override { return classifier_.sizes().front(); }
    ag::Var<float> forward(const ag::Var<float>& x) const override;
    std::string describe() const override;
    int target_class() const { return target_; }

private:
    const nn::MLP<float>& classifier_;
    int target_;
};

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

// The one reward factory, for d-dimensional data: "linear:c0,c1,...",
// "quadratic:a0,a1,...,tau" or "classifier:CKPT,DIGIT" (images); a one-line
// am::Error naming the spec otherwise.
std::unique_ptr<Reward> make_reward(const std::string& spec, Index d);


}  // namespace am::finetune
