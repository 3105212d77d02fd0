// The differentiable ops. Each is implemented in ops.cpp with its backward
// written right under its forward. Shapes are (rows, cols).
//
// Broadcasting (binary ops): each dimension of the two operands is equal or
// 1, and a 1 is repeated: (N, C) with (1, C) adds a bias to every row, with
// (N, 1) scales each row, with (1, 1) applies a scalar.
// Design: docs/design.md#autograd
#pragma once

#include <vector>

#include "autograd/engine.hpp"

namespace am::ag {

// ---- elementwise binary, broadcasting ---------------------------------------
template <class T> Var<T> add(const Var<T>& a, const Var<T>& b);  // a + b
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b);  // a - b
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b);  // a * b
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b);  // a / b

// ---- with a constant scalar ---------------------------------------------------
template <class T> Var<T> add_scalar(const Var<T>& a, T s);  // a + s
template <class T> Var<T> mul_scalar(const Var<T>& a, T s);  // s a
template <class T> Var<T> rsub_scalar(const Var<T>& a, T s); // s - a
template <class T> Var<T> rdiv_scalar(const Var<T>& a, T s); // s / a

// ---- matrix products ------------------------------------------------------------
// a (N, K) @ b (K, M) -> (N, M)
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b);
// Affine layer: x (N, in) @ W (in, out) + b (1, out) -> (N, out), one op.
template <class T> Var<T> linear(const Var<T>& x, const Var<T>& W, const Var<T>& b);

// silu(x W + b) as one op (the hidden layers of every network here): one
// pass over the output instead of three, and one graph node instead of two.
// Same values and gradients as silu(linear(x, W, b)).
template <class T> Var<T> linear_silu(const Var<T>& x, const Var<T>& W, const Var<T>& b);

// ---- elementwise unary -----------------------------------------------------------
template <class T> Var<T> silu(const Var<T>& a);    // a * sigmoid(a)
template <class T> Var<T> tanh(const Var<T>& a);
template <class T> Var<T> relu(const Var<T>& a);    // max(a, 0); gradient 0 at a = 0
template <class T> Var<T> exp(const Var<T>& a);
template <class T> Var<T> log(const Var<T>& a);
template <class T> Var<T> square(const Var<T>& a);

// ---- reductions --------------------------------------------------------------------
// axis = -1: over everything -> (1, 1); axis = 0: over rows -> (1, C);
// axis = 1: over columns -> (N, 1).
template <class T> Var<T> sum(const Var<T>& a, int axis = -1);
template <class T> Var<T> mean(const Var<T>& a, int axis = -1);

// log softmax of each row: a_ij - log sum_k exp(a_ik), stable.
template <class T> Var<T> log_softmax(const Var<T>& a);

// ---- shape ---------------------------------------------------------------------------
// Columns side by side: (N, C1), (N, C2), ... -> (N, C1 + C2 + ...).
template <class T> Var<T> concat_cols(const std::vector<Var<T>>& parts);
// Columns [begin, end) of a: (N, C) -> (N, end - begin).
template <class T> Var<T> slice_cols(const Var<T>& a, Index begin, Index end);

// ---- operators ---------------------------------------------------------------------------
template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& a) { return mul_scalar(a, T(-1)); }
template <class T> Var<T> operator+(const Var<T>& a, T s) { return add_scalar(a, s); }
template <class T> Var<T> operator+(T s, const Var<T>& a) { return add_scalar(a, s); }
template <class T> Var<T> operator-(const Var<T>& a, T s) { return add_scalar(a, -s); }
template <class T> Var<T> operator-(T s, const Var<T>& a) { return rsub_scalar(a, s); }
template <class T> Var<T> operator*(const Var<T>& a, T s) { return mul_scalar(a, s); }
template <class T> Var<T> operator*(T s, const Var<T>& a) { return mul_scalar(a, s); }
template <class T> Var<T> operator/(const Var<T>& a, T s) { return mul_scalar(a, T(1) / s); }
template <class T> Var<T> operator/(T s, const Var<T>& a) { return rdiv_scalar(a, s); }

}  // namespace am::ag
