// Exact velocity fields of Gaussian data (the 1-D field on the CondOT path
// alpha = t, beta = 1 - t; the mixture on any affine path): the "perfect base models" that separate the method's error
// from the network's (ladder rungs L1, L2). Their vector-Jacobian products
// are analytic (no finite differences): the lean adjoint uses them as
// J_base^T a. Shapes as in VelocityField: x, cot (N, d) -> (N, d).
// Design: docs/design.md#exact-fields-and-tilts
#pragma once

#include <memory>

#include "data/mixture.hpp"
#include "flow/path.hpp"
#include "flow/velocity_field.hpp"

namespace am::flow {

// Data N(m, s^2) in 1-D:
//   v(x, t) = m + (t s^2 - (1 - t)) / V_t (x - t m),  V_t = t^2 s^2 + (1 - t)^2.
class GaussianVelocity1D : public VelocityField {
public:
    GaussianVelocity1D(double m, double s);
    Index dim() const override { return 1; }
    Mat<float> velocity(const Mat<float>& x, float t) const override;
    Mat<float> vjp(const Mat<float>& x, float t, const Mat<float>& cot, Mat<float>* v_out = nullptr) const override;
    // The score of the marginal N(t m, V_t) at x: -(x - t m) / V_t.
    double score(double x, double t) const;

private:
    double m_, s_;
};

// Data sum_k w_k N(mu_k, S_k) in d dimensions, on the path X_t = a X1 + b X0
// (a = alpha_t, b = beta_t, a' and b' their derivatives; CondOT: a = t, b = 1 - t):
//   v(x, t) = E[a' X1 + b' X0 | X_t = x] = sum_k g_k(x, t) m_k(x, t),
//   m_k = a' mu_k + A_k (x - a mu_k),
//   A_k = (a' a S_k + b' b I) C_k^-1,  C_k = a^2 S_k + b^2 I,
//   g_k = responsibilities under the marginal components N(a mu_k, C_k).
// (CondOT: m_k = mu_k + (t S_k - (1 - t) I) C_k^-1 (x - t mu_k).)
// Jacobian (dm_k/dx = A_k, dg_k/dx = g_k (l_k - lbar)):
//   J = sum_k g_k A_k + sum_k g_k m_k (l_k - lbar)^T,
//   l_k = -C_k^-1 (x - a mu_k) (the gradient of log N_k), lbar = sum_j g_j l_j,
// so vjp gives J^T c = sum_k g_k [ A_k^T c + (m_k . c) (l_k - lbar) ].
// C_k^-1 and A_k are formed once per call (Cholesky); the rows run in double,
// in parallel (OpenMP), with log-sum-exp responsibilities.
class MixtureVelocity : public VelocityField {
public:
    explicit MixtureVelocity(data::GaussianMixture mix,
                             std::shared_ptr<const Path> path = std::make_shared<CondOT>());
    Index dim() const override { return mix_.dim(); }
    Mat<float> velocity(const Mat<float>& x, float t) const override;
    Mat<float> vjp(const Mat<float>& x, float t, const Mat<float>& cot, Mat<float>* v_out = nullptr) const override;
    const data::GaussianMixture& mixture() const { return mix_; }
    const Path& path() const { return *path_; }

private:
    // v (and J^T cot when cot is given) for every row.
    void evaluate(const Mat<float>& x, float t, const Mat<float>* cot, Mat<float>* v, Mat<float>* jtc) const;
    data::GaussianMixture mix_;
    std::shared_ptr<const Path> path_;
};

}  // namespace am::flow
