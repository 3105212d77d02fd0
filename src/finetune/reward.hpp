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
// conditional distribution. The classifier is frozen (its parameters are
// made constants) and must outlive the reward.
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

// "linear:c0,c1,..." or "quadratic:a0,a1,...,tau"; the dimension must be d.
// Other kinds (a classifier) are built by their own code.
std::unique_ptr<Reward> parse_reward(const std::string& spec, Index d);

}  // namespace am::finetune
