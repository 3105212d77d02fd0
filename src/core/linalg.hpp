// Small dense linear algebra on (d, d) matrices in double: the covariances
// of Gaussian mixtures (d is 1 or 2 in the demos). Plain loops: d is tiny.
// Design: docs/design.md#core
#pragma once

#include <cmath>
#include <vector>

#include "core/tensor.hpp"

namespace am::linalg {

// Lower-triangular L with L L^T = S. Throws if S is not positive definite.
inline Mat<double> cholesky(const Mat<double>& S) {
    const Index d = rows(S);
    AM_CHECK(cols(S) == d, "cholesky: the matrix is not square: " + shape_str(S));
    Mat<double> L = zeros<double>(d, d);
    for (Index i = 0; i < d; ++i)
        for (Index j = 0; j <= i; ++j) {
            double s = S(i, j);
            for (Index k = 0; k < j; ++k) s -= L(i, k) * L(j, k);
            if (i == j) {
                AM_CHECK(s > 0 && std::isfinite(s), "a covariance matrix is not positive definite");
                L(i, i) = std::sqrt(s);
            } else {
                L(i, j) = s / L(j, j);
            }
        }
    return L;
}

// x with L L^T x = b, given the Cholesky factor L.
inline std::vector<double> cholesky_solve(const Mat<double>& L, std::vector<double> b) {
    const Index d = rows(L);
    for (Index i = 0; i < d; ++i) {
        for (Index k = 0; k < i; ++k) b[i] -= L(i, k) * b[k];
        b[i] /= L(i, i);
    }
    for (Index i = d; i-- > 0;) {
        for (Index k = i + 1; k < d; ++k) b[i] -= L(k, i) * b[k];
        b[i] /= L(i, i);
    }
    return b;
}

// S^-1 of a symmetric positive definite S.
inline Mat<double> spd_inverse(const Mat<double>& S) {
    const Index d = rows(S);
    const Mat<double> L = cholesky(S);
    Mat<double> inv = zeros<double>(d, d);
    for (Index c = 0; c < d; ++c) {
        std::vector<double> e(d, 0.0);
        e[c] = 1.0;
        const auto x = cholesky_solve(L, e);
        for (Index i = 0; i < d; ++i) inv(i, c) = x[i];
    }
    return inv;
}

// log det S from its Cholesky factor.
inline double logdet_from_cholesky(const Mat<double>& L) {
    double s = 0;
    for (Index i = 0; i < rows(L); ++i) s += 2 * std::log(L(i, i));
    return s;
}

// log N(x; mu, S) = -(d log 2pi + log det S + (x - mu)^T S^-1 (x - mu)) / 2
inline double log_normal(const std::vector<double>& x, const std::vector<double>& mu, const Mat<double>& S) {
    const Index d = rows(S);
    const Mat<double> L = cholesky(S);
    std::vector<double> z(d);
    double q = 0;
    for (Index i = 0; i < d; ++i) {  // z = L^-1 (x - mu), q = |z|^2
        double s = x[i] - mu[i];
        for (Index k = 0; k < i; ++k) s -= L(i, k) * z[k];
        z[i] = s / L(i, i);
        q += z[i] * z[i];
    }
    return -0.5 * (q + logdet_from_cholesky(L) + double(d) * std::log(2 * M_PI));
}

}  // namespace am::linalg
