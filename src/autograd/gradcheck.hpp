// Finite-difference gradient check (ladder rung L5): compares the gradients the
// engine computes with central differences, in double precision.
//
//   f maps the leaves to a Var of any shape; the checked scalar is
//   L = sum(w * f(leaves)) with a fixed random weight w, so that every output
//   entry, not only their sum, is checked.
// Design: docs/design.md#autograd
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "core/random.hpp"

namespace am::ag {

struct GradCheckResult {
    double max_abs_error = 0;  // max |analytic - numeric| over all leaf entries
    double max_rel_error = 0;  // the same relative to max(1, |numeric|)
    std::string worst;         // "leaf i, entry j: analytic a vs numeric b"
};

inline GradCheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                                 std::vector<Mat<double>> inputs, double eps = 1e-6,
                                 std::uint64_t seed = 7) {
    std::vector<Var<double>> leaves;
    for (auto& x : inputs) leaves.emplace_back(x, true);
    Var<double> y = f(leaves);
    Rng rng(seed);
    const Mat<double> w = rng.normal<double>(y.rows(), y.cols());
    const auto analytic = grad(y, leaves, &w);

    auto loss_at = [&](const std::vector<Mat<double>>& xs) {
        NoGrad ng;
        std::vector<Var<double>> vs;
        for (const auto& x : xs) vs.emplace_back(x);
        const Var<double> y_at = f(vs);
        const Mat<double>& out = y_at.value();
        double s = 0;
        for (std::size_t i = 0; i < out.size(); ++i) s += w.data()[i] * out.data()[i];
        return s;
    };
    GradCheckResult r;
    for (std::size_t li = 0; li < inputs.size(); ++li) {
        for (std::size_t j = 0; j < inputs[li].size(); ++j) {
            auto xs = inputs;
            const double x0 = inputs[li].data()[j];
            xs[li].data()[j] = x0 + eps;
            const double up = loss_at(xs);
            xs[li].data()[j] = x0 - eps;
            const double down = loss_at(xs);
            const double numeric = (up - down) / (2 * eps);
            const double a = analytic[li].data()[j];
            const double abs_err = std::abs(a - numeric);
            const double rel_err = abs_err / std::max(1.0, std::abs(numeric));
            if (rel_err > r.max_rel_error) {
                r.worst = "leaf " + std::to_string(li) + ", entry " + std::to_string(j) +
                          ": analytic " + std::to_string(a) + " vs numeric " + std::to_string(numeric);
            }
            r.max_abs_error = std::max(r.max_abs_error, abs_err);
            r.max_rel_error = std::max(r.max_rel_error, rel_err);
        }
    }
    return r;
}

}  // namespace am::ag
