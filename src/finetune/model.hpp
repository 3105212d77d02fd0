// The fine-tuned model v_ft next to the frozen base v_base. The control of
// the SOC problem is u = (2 / sigma)(v_ft - v_base) under the memoryless
// schedule; in the discrete frame of flow/sampler.hpp the fine-tuned step is
//   X_{k+1} = c X_k + d v_ft(X_k, t_k) + s eps,
// so everything the fine-tuning methods need is delta = v_ft - v_base.
//
// Three kinds:
//   CopyOfNetwork     v_ft = a trainable copy of the base network
//   ResidualNetwork   v_ft = v_base + res(x, t), res an MLP whose last layer
//                     starts at zero (for exact, non-network bases)
//   StepAffine        v_ft = v_base + A_k * x + B_k per time step k
//                     (diagonal affine; the control class of ladder rung L1)
// Each is itself a VelocityField (the fine-tuned velocity), so the samplers
// take it as they take the base.
// Design: docs/design.md#control-and-the-tilted-target
#pragma once

#include <memory>
#include <vector>

#include "flow/network_field.hpp"
#include "nn/mlp.hpp"

namespace am::finetune {

using ag::Var;

class FineTunedModel : public flow::VelocityField {
public:
    // A network base must be frozen by the code that builds it (nn::freeze):
    // the base is never trained and no weight gradient of it is formed. A
    // trainable one is refused with a one-line am::Error.
    explicit FineTunedModel(const flow::VelocityField& base);

    const flow::VelocityField& base() const { return base_; }
    Index dim() const override { return base_.dim(); }

    // delta = v_ft - v_base on the tape with respect to the parameters only.
    // x (R, d) and per-row times t (R, 1) are data; v_base (R, d) are the base
    // velocities at those rows (already computed by the adjoint pass).
    virtual Var<float> delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>& v_base) const = 0;

    // The trainable parameters.
    virtual std::vector<Var<float>> parameters() const = 0;

    // VelocityField: v_ft. forward() (on the tape, x and parameters) is what
    // each kind defines; velocity() and vjp() are derived from it.
    Mat<float> velocity(const Mat<float>& x, float t) const override;
    Mat<float> vjp(const Mat<float>& x, float t, const Mat<float>& cot,
                   Mat<float>* v_out = nullptr) const override;

protected:
    const flow::VelocityField& base_;
};

class CopyOfNetwork : public FineTunedModel {
public:
    // The fine-tuned network starts as a copy of base.net().
    CopyOfNetwork(const flow::NetworkVelocity& base);
    Var<float> forward(const Var<float>& x, float t) const override;
    Var<float> delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>& v_base) const override;
    std::vector<Var<float>> parameters() const override { return net_.parameters(); }
    const nn::VelocityMLP<float>& net() const { return net_; }

private:
    nn::VelocityMLP<float> net_;
};

class ResidualNetwork : public FineTunedModel {
public:
    ResidualNetwork(const flow::VelocityField& base, Index width, Index depth, Rng& rng);
    Var<float> forward(const Var<float>& x, float t) const override;
    Var<float> delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>& v_base) const override;
    std::vector<Var<float>> parameters() const override { return res_.parameters(); }
    const nn::VelocityMLP<float>& residual() const { return res_; }

private:
    nn::VelocityMLP<float> res_;
};

class StepAffine : public FineTunedModel {
public:
    // One (A_k, B_k) pair per step of a K-step grid; step k is the one whose
    // network time is nearest to t (the steps' t0, ascending).
    StepAffine(const flow::VelocityField& base, std::vector<double> step_times);
    Var<float> forward(const Var<float>& x, float t) const override;
    Var<float> delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>& v_base) const override;
    std::vector<Var<float>> parameters() const override { return {A_, B_}; }
    Index step_of(double t) const;
    const Var<float>& A() const { return A_; }
    const Var<float>& B() const { return B_; }

private:
    std::vector<double> times_;
    Var<float> A_, B_;  // (K, d) each, zero at the start: v_ft = v_base
};

}  // namespace am::finetune
