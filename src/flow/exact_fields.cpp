// Design: docs/design.md#exact-fields-and-tilts
#include "flow/exact_fields.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/linalg.hpp"

namespace am::flow {

// ---- 1-D Gaussian -------------------------------------------------------------------------------

GaussianVelocity1D::GaussianVelocity1D(double m, double s) : m_(m), s_(s) {
    AM_CHECK(s > 0 && std::isfinite(s) && std::isfinite(m), "GaussianVelocity1D: need a finite mean and s > 0");
}

double GaussianVelocity1D::score(double x, double t) const {
    const double V = t * t * s_ * s_ + (1 - t) * (1 - t);
    return -(x - t * m_) / V;
}

Mat<float> GaussianVelocity1D::velocity(const Mat<float>& x, float t) const {
    AM_CHECK(cols(x) == 1, "GaussianVelocity1D: x must be (N, 1), got " + shape_str(x));
    const double V = double(t) * t * s_ * s_ + (1.0 - t) * (1.0 - t);
    const double slope = (t * s_ * s_ - (1.0 - t)) / V;
    Mat<float> v = Mat<float>::from_shape(x.shape());
    for (Index i = 0; i < rows(x); ++i) v(i, 0) = float(m_ + slope * (x(i, 0) - t * m_));
    return v;
}

Mat<float> GaussianVelocity1D::vjp(const Mat<float>& x, float t, const Mat<float>& cot, Mat<float>* v_out) const {
    AM_CHECK(cot.shape() == x.shape(), "GaussianVelocity1D::vjp: cotangent and x differ in shape");
    const double V = double(t) * t * s_ * s_ + (1.0 - t) * (1.0 - t);
    const float slope = float((t * s_ * s_ - (1.0 - t)) / V);  // dv/dx
    if (v_out) *v_out = velocity(x, t);
    Mat<float> g = Mat<float>::from_shape(x.shape());
    for (Index i = 0; i < rows(x); ++i) g(i, 0) = slope * cot(i, 0);
    return g;
}

// ---- Gaussian mixture -----------------------------------------------------------------------------

MixtureVelocity::MixtureVelocity(data::GaussianMixture mix, std::shared_ptr<const Path> path)
    : mix_(std::move(mix)), path_(std::move(path)) {
    mix_.validate();
    AM_CHECK(path_ != nullptr, "MixtureVelocity: no path");
}

void MixtureVelocity::evaluate(const Mat<float>& x, float tf, const Mat<float>* cot, Mat<float>* v,
                               Mat<float>* jtc) const {
    const Index n = mix_.size(), d = mix_.dim(), N = rows(x);
    AM_CHECK(cols(x) == d, "MixtureVelocity: x must be (N, " + std::to_string(d) + "), got " + shape_str(x));
    const double t = tf;
    const double alpha = path_->alpha(t), beta = path_->beta(t);
    const double alpha_dot = path_->alpha_dot(t), beta_dot = path_->beta_dot(t);
    // Per component, once per call for this t, as flat row-major arrays:
    //   mu (n, d); Cinv (n, d, d) = C^-1 with C = a^2 S + b^2 I;
    //   A (n, d, d) = (a' a S + b' b I) C^-1; c0 (n) = log w - log det C / 2 - d log(2 pi) / 2.
    const Index dd = d * d;
    std::vector<double> mu(n * d), Cinv(n * dd), A(n * dd), c0(n);
    for (Index k = 0; k < n; ++k) {
        Mat<double> C = mix_.covs[k] * (alpha * alpha);
        Mat<double> B = mix_.covs[k] * (alpha_dot * alpha);
        for (Index i = 0; i < d; ++i) {
            C(i, i) += beta * beta;
            B(i, i) += beta_dot * beta;
        }
        const Mat<double> L = linalg::cholesky(C);
        const Mat<double> Ci = linalg::spd_inverse(C);
        double* Ak = &A[k * dd];
        double* Cik = &Cinv[k * dd];
        for (Index i = 0; i < d; ++i) {
            mu[k * d + i] = mix_.means(k, i);  // the data mean; a mu and a' mu below
            for (Index j = 0; j < d; ++j) {
                Cik[i * d + j] = Ci(i, j);
                double s = 0;
                for (Index l = 0; l < d; ++l) s += B(i, l) * Ci(l, j);
                Ak[i * d + j] = s;
            }
        }
        c0[k] = std::log(mix_.weights[k]) - 0.5 * linalg::logdet_from_cholesky(L) -
                0.5 * double(d) * std::log(2 * M_PI);
    }
    if (v) *v = Mat<float>::from_shape(x.shape());
    if (jtc) *jtc = Mat<float>::from_shape(x.shape());
    const float* px = x.data();
    const float* pc = cot ? cot->data() : nullptr;
    float* pv = v ? v->data() : nullptr;
    float* pj = jtc ? jtc->data() : nullptr;
#pragma omp parallel if (N * n * d > 4096)
    {
        // per-thread scratch: g (n), diff (d), l_k and m_k (n, d), lbar (d), J^T c (d)
        std::vector<double> g(n), diff(d), lk(n * d), mk(n * d), lbar(d), out(d);
#pragma omp for schedule(static)
        for (Index i = 0; i < N; ++i) {
            const float* xi = px + i * d;
            // log w_k + log N(x; a mu_k, C_k), and l_k = -C_k^-1 (x - a mu_k), m_k = a' mu_k + A_k (x - a mu_k)
            double mx = -std::numeric_limits<double>::infinity();
            for (Index k = 0; k < n; ++k) {
                const double* muk = &mu[k * d];
                const double* Cik = &Cinv[k * dd];
                const double* Ak = &A[k * dd];
                for (Index a = 0; a < d; ++a) diff[a] = double(xi[a]) - alpha * muk[a];
                double q = 0;
                for (Index a = 0; a < d; ++a) {
                    double ca = 0, ma = alpha_dot * muk[a];
                    for (Index b = 0; b < d; ++b) {
                        ca += Cik[a * d + b] * diff[b];
                        ma += Ak[a * d + b] * diff[b];
                    }
                    lk[k * d + a] = -ca;
                    mk[k * d + a] = ma;
                    q += diff[a] * ca;
                }
                g[k] = c0[k] - 0.5 * q;
                mx = std::max(mx, g[k]);
            }
            double z = 0;  // log-sum-exp: g_k = exp(log p_k - max) / sum_j exp(log p_j - max)
            for (Index k = 0; k < n; ++k) z += (g[k] = std::exp(g[k] - mx));
            for (Index k = 0; k < n; ++k) g[k] /= z;
            // v = sum_k g_k m_k, lbar = sum_k g_k l_k
            for (Index a = 0; a < d; ++a) {
                double va = 0, la = 0;
                for (Index k = 0; k < n; ++k) {
                    va += g[k] * mk[k * d + a];
                    la += g[k] * lk[k * d + a];
                }
                lbar[a] = la;
                if (pv) pv[i * d + a] = float(va);
            }
            if (!pj) continue;
            // J^T c = sum_k g_k A_k^T c + sum_k g_k (m_k . c) (l_k - lbar)
            const float* ci = pc + i * d;
            std::fill(out.begin(), out.end(), 0.0);
            for (Index k = 0; k < n; ++k) {
                const double* Ak = &A[k * dd];
                double mc = 0;
                for (Index a = 0; a < d; ++a) mc += mk[k * d + a] * ci[a];
                for (Index b = 0; b < d; ++b) {
                    double atc = 0;
                    for (Index a = 0; a < d; ++a) atc += Ak[a * d + b] * ci[a];
                    out[b] += g[k] * (atc + mc * (lk[k * d + b] - lbar[b]));
                }
            }
            for (Index b = 0; b < d; ++b) pj[i * d + b] = float(out[b]);
        }
    }
}

Mat<float> MixtureVelocity::velocity(const Mat<float>& x, float t) const {
    Mat<float> v;
    evaluate(x, t, nullptr, &v, nullptr);
    return v;
}

Mat<float> MixtureVelocity::vjp(const Mat<float>& x, float t, const Mat<float>& cot, Mat<float>* v_out) const {
    AM_CHECK(cot.shape() == x.shape(), "MixtureVelocity::vjp: cotangent and x differ in shape");
    Mat<float> v, g;
    evaluate(x, t, &cot, &v, &g);
    if (v_out) *v_out = std::move(v);
    return g;
}

}  // namespace am::flow
