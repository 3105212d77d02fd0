// Core types shared by every module: the 2-D array, errors, and the one
// matrix-product entry point.
//
// Every array in the project is a row-major matrix Mat<T> of shape
// (rows, cols): a batch of N points in d dimensions is (N, d), a scalar is
// (1, 1), a bias is (1, C), a per-row time is (N, 1).
// Design: docs/design.md#core
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xtensor.hpp>
#include <xtensor-blas/xblas.hpp>

#include "core/error.hpp"

namespace am {

template <class T>
using Mat = xt::xtensor<T, 2>;

using Index = std::ptrdiff_t;

template <class T>
inline Index rows(const Mat<T>& a) { return static_cast<Index>(a.shape()[0]); }
template <class T>
inline Index cols(const Mat<T>& a) { return static_cast<Index>(a.shape()[1]); }

template <class T>
inline std::string shape_str(const Mat<T>& a) {
    return "(" + std::to_string(rows(a)) + ", " + std::to_string(cols(a)) + ")";
}

template <class T>
inline Mat<T> zeros(Index r, Index c) {
    return Mat<T>(std::array<std::size_t, 2>{std::size_t(r), std::size_t(c)}, T(0));
}
template <class T>
inline Mat<T> full(Index r, Index c, T v) {
    return Mat<T>(std::array<std::size_t, 2>{std::size_t(r), std::size_t(c)}, v);
}

// C = alpha * op(A) op(B) + beta * C, op = transpose when the flag is set.
// The only matrix product in the project: xtensor-blas -> cblas (OpenBLAS).
// C must already have the right shape.
template <class T>
inline void gemm(const Mat<T>& A, bool transA, const Mat<T>& B, bool transB, Mat<T>& C,
                 T alpha = T(1), T beta = T(0)) {
    const Index m = transA ? cols(A) : rows(A);
    const Index kA = transA ? rows(A) : cols(A);
    const Index kB = transB ? cols(B) : rows(B);
    const Index n = transB ? rows(B) : cols(B);
    AM_CHECK(kA == kB && rows(C) == m && cols(C) == n,
             "gemm: shapes do not match: op(A) " + std::to_string(m) + "x" + std::to_string(kA) +
                 ", op(B) " + std::to_string(kB) + "x" + std::to_string(n) + ", C " + shape_str(C));
    if (m == 0 || n == 0) return;
    if (kA == 0) {  // BLAS leaves C untouched when k = 0 only if beta = 1
        C *= beta;
        return;
    }
    xt::blas::gemm(A, B, C, transA, transB, alpha, beta);
}

}  // namespace am
