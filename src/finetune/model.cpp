// Design: docs/design.md#control-and-the-tilted-target
#include "finetune/model.hpp"

#include <algorithm>
#include <cmath>

namespace am::finetune {

FineTunedModel::FineTunedModel(const flow::VelocityField& base) : base_(base) {
    if (auto* net = dynamic_cast<const flow::NetworkVelocity*>(&base))
        AM_CHECK(nn::is_frozen(net->net().parameters()),
                 "fine-tuned model: the base network is trainable; freeze it where it is built (nn::freeze)");
}

Mat<float> FineTunedModel::velocity(const Mat<float>& x, float t) const {
    ag::NoGrad no_tape;
    return forward(Var<float>(x), t).value();
}

Mat<float> FineTunedModel::vjp(const Mat<float>& x, float t, const Mat<float>& cot, Mat<float>* v_out) const {
    return ag::vjp<float>([&](const Var<float>& xv) { return forward(xv, t); }, x, cot, v_out);
}

// ---- a copy of the base network ---------------------------------------------------------

CopyOfNetwork::CopyOfNetwork(const flow::NetworkVelocity& base) : FineTunedModel(base), net_(base.net().clone()) {}

Var<float> CopyOfNetwork::forward(const Var<float>& x, float t) const {
    return net_.forward(x, Var<float>(full<float>(x.rows(), 1, t)));
}

Var<float> CopyOfNetwork::delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>& v_base) const {
    return net_.forward(Var<float>(x), Var<float>(t)) - Var<float>(v_base);
}

// ---- base + residual network -------------------------------------------------------------

ResidualNetwork::ResidualNetwork(const flow::VelocityField& base, Index width, Index depth, Rng& rng)
    : FineTunedModel(base), res_(base.dim(), width, depth, rng) {
    // the last layer starts at zero, so v_ft = v_base before any update
    auto ps = res_.parameters();
    ps[ps.size() - 2].value().fill(0.0f);
    ps[ps.size() - 1].value().fill(0.0f);
}

Var<float> ResidualNetwork::forward(const Var<float>& x, float t) const {
    return base_.forward(x, t) + res_.forward(x, Var<float>(full<float>(x.rows(), 1, t)));
}

Var<float> ResidualNetwork::delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>&) const {
    return res_.forward(Var<float>(x), Var<float>(t));
}

// ---- per-step affine control -------------------------------------------------------------

StepAffine::StepAffine(const flow::VelocityField& base, std::vector<double> step_times)
    : FineTunedModel(base), times_(std::move(step_times)) {
    AM_CHECK(!times_.empty() && std::is_sorted(times_.begin(), times_.end()),
             "StepAffine: needs the steps' times, ascending");
    A_ = Var<float>(zeros<float>(Index(times_.size()), base.dim()), true);
    B_ = Var<float>(zeros<float>(Index(times_.size()), base.dim()), true);
}

Index StepAffine::step_of(double t) const {
    // times_ ascend: the nearest is the first at or after t, or the one before it
    const auto it = std::lower_bound(times_.begin(), times_.end(), t);
    Index k = Index(it - times_.begin());
    if (k == Index(times_.size()) || (k > 0 && t - times_[k - 1] < times_[k] - t)) --k;
    return k;
}

namespace {
// Rows of P (K, d) picked by step: out_i = P_{step_i}. Backward scatters
// (adds) each row's gradient back into the row it was picked from.
Var<float> gather_rows(const Var<float>& P, const std::vector<Index>& step) {
    const Index R = Index(step.size()), d = P.cols();
    Mat<float> out = zeros<float>(R, d);
    for (Index i = 0; i < R; ++i)
        for (Index j = 0; j < d; ++j) out(i, j) = P.value()(step[i], j);
    return ag::make_op<float>(std::move(out), {P}, "gather_rows", [step](ag::Node<float>& o) {
        ag::Node<float>& p = *o.parents[0];
        Mat<float> g = zeros<float>(rows(p.value), cols(p.value));
        for (Index i = 0; i < Index(step.size()); ++i)
            for (Index j = 0; j < cols(g); ++j) g(step[i], j) += o.grad(i, j);
        ag::accumulate(p, std::move(g));
    });
}
}  // namespace

Var<float> StepAffine::forward(const Var<float>& x, float t) const {
    const std::vector<Index> step(std::size_t(x.rows()), step_of(t));
    return base_.forward(x, t) + x * gather_rows(A_, step) + gather_rows(B_, step);
}

Var<float> StepAffine::delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>&) const {
    std::vector<Index> step(std::size_t(rows(x)));
    for (Index i = 0; i < rows(x); ++i) step[i] = step_of(t(i, 0));
    return Var<float>(x) * gather_rows(A_, step) + gather_rows(B_, step);
}

}  // namespace am::finetune
