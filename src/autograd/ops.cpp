// The ops: forward, and right under it, backward (the vector-Jacobian
// product: the gradient of the output, o.grad, turned into gradients of the
// parents). Loops run over raw row-major storage; matrix products go through
// am::gemm (BLAS).
// Design: docs/design.md#autograd
#include "autograd/ops.hpp"
#include "core/fastmath.hpp"

#include <cmath>
#include <limits>

namespace am::ag {

namespace {

template <class T>
Mat<T> uninit(Index r, Index c) {
    return Mat<T>::from_shape({std::size_t(r), std::size_t(c)});
}
template <class T>
Mat<T> uninit_like(const Mat<T>& a) {
    return Mat<T>::from_shape(a.shape());
}

constexpr Index kParallelMin = 1 << 15;  // below this, a thread team costs more than it saves

// ---- broadcasting -------------------------------------------------------------

// Output shape of a broadcasting binary op; throws naming the op if the
// operands cannot broadcast.
template <class T>
std::array<Index, 2> broadcast_shape(const Mat<T>& a, const Mat<T>& b, const char* op) {
    std::array<Index, 2> s{};
    for (int d = 0; d < 2; ++d) {
        const Index x = Index(a.shape()[d]), y = Index(b.shape()[d]);
        AM_CHECK(x == y || x == 1 || y == 1, std::string(op) + ": shapes " + shape_str(a) + " and " +
                                                 shape_str(b) + " do not broadcast");
        s[d] = std::max(x, y);
    }
    return s;
}

// out(i, j) = f(a(i', j'), b(i'', j'')) with a size-1 dimension repeated.
template <class T, class F>
Mat<T> broadcast_apply(const Mat<T>& a, const Mat<T>& b, const std::array<Index, 2>& s, F f) {
    Mat<T> out = uninit<T>(s[0], s[1]);
    const Index ar = rows(a) > 1, ac = cols(a) > 1, br = rows(b) > 1, bc = cols(b) > 1;
    const Index ca = cols(a), cb = cols(b), C = s[1];
    const T* pa = a.data();
    const T* pb = b.data();
    T* po = out.data();
#pragma omp parallel for if (s[0] * s[1] > kParallelMin)
    for (Index i = 0; i < s[0]; ++i)
        for (Index j = 0; j < C; ++j) po[i * C + j] = f(pa[i * ar * ca + j * ac], pb[i * br * cb + j * bc]);
    return out;
}

// Sums g (the broadcast output's shape) down to `shape` over repeated dimensions.
template <class T>
Mat<T> reduce_to(Mat<T>&& g, const Mat<T>& like) {
    if (g.shape() == like.shape()) return std::move(g);
    Mat<T> r = zeros<T>(rows(like), cols(like));
    const Index rr = rows(like) > 1, rc = cols(like) > 1, C = cols(g), Cr = cols(like);
    for (Index i = 0; i < rows(g); ++i)
        for (Index j = 0; j < C; ++j) r.data()[i * rr * Cr + j * rc] += g.data()[i * C + j];
    return r;
}

// Backward of a broadcasting binary op for parent `which` (0 = a, 1 = b):
// g_parent = reduce( o.grad * dF(a, b) ).
template <class T, class DF>
void binary_backward(Node<T>& o, int which, DF dF) {
    Node<T>& p = *o.parents[which];
    if (!p.wanted) return;
    const Mat<T>& a = o.parents[0]->value;
    const Mat<T>& b = o.parents[1]->value;
    Mat<T> g = broadcast_apply(a, b, {rows(o.grad), cols(o.grad)}, dF);
    T* pg = g.data();
    const T* po = o.grad.data();
    const Index n = Index(g.size());
#pragma omp parallel for simd if (n > kParallelMin)
    for (Index i = 0; i < n; ++i) pg[i] *= po[i];
    accumulate(p, reduce_to(std::move(g), p.value));
}

// An elementwise unary op: out = f(a); backward g_a = o.grad * df(a, out).
template <class T, class F, class DF>
Var<T> unary(const Var<T>& a, const char* name, F f, DF df) {
    Mat<T> out = uninit_like(a.value());
    const T* pa = a.value().data();
    T* po = out.data();
    const Index n = Index(out.size());
#pragma omp parallel for simd if (n > kParallelMin)
    for (Index i = 0; i < n; ++i) po[i] = f(pa[i]);
    return make_op<T>(std::move(out), {a}, name, [df](Node<T>& o) {
        Node<T>& p = *o.parents[0];
        Mat<T> g = uninit_like(p.value);
        const T* x = p.value.data();
        const T* y = o.value.data();
        const T* go = o.grad.data();
        T* pg = g.data();
        const Index m = Index(g.size());
#pragma omp parallel for simd if (m > kParallelMin)
        for (Index i = 0; i < m; ++i) pg[i] = go[i] * df(x[i], y[i]);
        accumulate(p, std::move(g));
    });
}

}  // namespace

// ---- elementwise binary ----------------------------------------------------------

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
    auto s = broadcast_shape(a.value(), b.value(), "add");
    Mat<T> out = broadcast_apply(a.value(), b.value(), s, [](T x, T y) { return x + y; });
    return make_op<T>(std::move(out), {a, b}, "add", [](Node<T>& o) {
        binary_backward(o, 0, [](T, T) { return T(1); });  // d(a+b)/da = 1
        binary_backward(o, 1, [](T, T) { return T(1); });  // d(a+b)/db = 1
    });
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
    auto s = broadcast_shape(a.value(), b.value(), "sub");
    Mat<T> out = broadcast_apply(a.value(), b.value(), s, [](T x, T y) { return x - y; });
    return make_op<T>(std::move(out), {a, b}, "sub", [](Node<T>& o) {
        binary_backward(o, 0, [](T, T) { return T(1); });
        binary_backward(o, 1, [](T, T) { return T(-1); });
    });
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
    auto s = broadcast_shape(a.value(), b.value(), "mul");
    Mat<T> out = broadcast_apply(a.value(), b.value(), s, [](T x, T y) { return x * y; });
    return make_op<T>(std::move(out), {a, b}, "mul", [](Node<T>& o) {
        binary_backward(o, 0, [](T, T y) { return y; });  // d(ab)/da = b
        binary_backward(o, 1, [](T x, T) { return x; });  // d(ab)/db = a
    });
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
    auto s = broadcast_shape(a.value(), b.value(), "div");
    Mat<T> out = broadcast_apply(a.value(), b.value(), s, [](T x, T y) { return x / y; });
    return make_op<T>(std::move(out), {a, b}, "div", [](Node<T>& o) {
        binary_backward(o, 0, [](T, T y) { return T(1) / y; });      // d(a/b)/da = 1/b
        binary_backward(o, 1, [](T x, T y) { return -x / (y * y); }); // d(a/b)/db = -a/b^2
    });
}

// ---- with a constant scalar -------------------------------------------------------

template <class T>
Var<T> add_scalar(const Var<T>& a, T s) {
    return unary(a, "add_scalar", [s](T x) { return x + s; }, [](T, T) { return T(1); });
}
template <class T>
Var<T> mul_scalar(const Var<T>& a, T s) {
    return unary(a, "mul_scalar", [s](T x) { return s * x; }, [s](T, T) { return s; });
}
template <class T>
Var<T> rsub_scalar(const Var<T>& a, T s) {
    return unary(a, "rsub_scalar", [s](T x) { return s - x; }, [](T, T) { return T(-1); });
}
template <class T>
Var<T> rdiv_scalar(const Var<T>& a, T s) {
    // y = s / x, dy/dx = -s / x^2 = -y / x
    return unary(a, "rdiv_scalar", [s](T x) { return s / x; }, [](T x, T y) { return -y / x; });
}

// ---- matrix products ----------------------------------------------------------------

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
    AM_CHECK(a.cols() == b.rows(),
             "matmul: " + shape_str(a.value()) + " @ " + shape_str(b.value()) + ": inner sizes differ");
    Mat<T> out = uninit<T>(a.rows(), b.cols());
    gemm(a.value(), false, b.value(), false, out);
    return make_op<T>(std::move(out), {a, b}, "matmul", [](Node<T>& o) {
        Node<T>& A = *o.parents[0];
        Node<T>& B = *o.parents[1];
        if (A.wanted) gemm(o.grad, false, B.value, true, A.grad, T(1), grad_target(A));  // dA = G B^T
        if (B.wanted) gemm(A.value, true, o.grad, false, B.grad, T(1), grad_target(B));  // dB = A^T G
    });
}

namespace {

// Backward of y = x W + b given G = dL/dy:  dx = G W^T, dW = x^T G, db = column sums of G.
template <class T>
void linear_backward(Node<T>& X, Node<T>& Wn, Node<T>& B, const Mat<T>& G) {
    if (X.wanted) gemm(G, false, Wn.value, true, X.grad, T(1), grad_target(X));
    if (Wn.wanted) gemm(X.value, true, G, false, Wn.grad, T(1), grad_target(Wn));
    if (B.wanted) {
        Mat<T> g = zeros<T>(1, cols(G));
        const Index n = rows(G), m = cols(G);
        for (Index i = 0; i < n; ++i)
            for (Index j = 0; j < m; ++j) g.data()[j] += G.data()[i * m + j];
        accumulate(B, std::move(g));
    }
}

// z = x W + b (bias written first, then gemm accumulates onto it).
template <class T>
Mat<T> affine(const Var<T>& x, const Var<T>& W, const Var<T>& b, const char* op) {
    AM_CHECK(x.cols() == W.rows() && b.rows() == 1 && b.cols() == W.cols(),
             std::string(op) + ": x " + shape_str(x.value()) + ", W " + shape_str(W.value()) + ", b " +
                 shape_str(b.value()) + ": expected x (N, in), W (in, out), b (1, out)");
    const Index N = x.rows(), M = W.cols();
    Mat<T> z = uninit<T>(N, M);
    const T* pb = b.value().data();
    T* pz = z.data();
    for (Index i = 0; i < N; ++i) std::copy_n(pb, M, pz + i * M);
    gemm(x.value(), false, W.value(), false, z, T(1), T(1));
    return z;
}

}  // namespace

template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& W, const Var<T>& b) {
    return make_op<T>(affine(x, W, b, "linear"), {x, W, b}, "linear", [](Node<T>& o) {
        linear_backward(*o.parents[0], *o.parents[1], *o.parents[2], o.grad);
    });
}

template <class T>
Var<T> linear_silu(const Var<T>& x, const Var<T>& W, const Var<T>& b) {
    Mat<T> z = affine(x, W, b, "linear_silu");
    Mat<T> y = uninit_like(z);
    const T* pz = z.data();
    T* py = y.data();
    const Index n = Index(z.size());
#pragma omp parallel for simd if (n > kParallelMin)
    for (Index i = 0; i < n; ++i) py[i] = pz[i] * sigmoid(pz[i]);
    // backward: G_z = G_y * s (1 + z (1 - s)), s = sigmoid(z); then as linear
    return make_op<T>(std::move(y), {x, W, b}, "linear_silu", [z = std::move(z)](Node<T>& o) {
        Mat<T> gz = uninit_like(z);
        const T* pz = z.data();
        const T* go = o.grad.data();
        T* pg = gz.data();
        const Index n = Index(z.size());
#pragma omp parallel for simd if (n > kParallelMin)
        for (Index i = 0; i < n; ++i) {
            const T s = sigmoid(pz[i]);
            pg[i] = go[i] * s * (T(1) + pz[i] * (T(1) - s));
        }
        linear_backward(*o.parents[0], *o.parents[1], *o.parents[2], gz);
    });
}

// ---- elementwise unary -------------------------------------------------------------------

template <class T>
Var<T> silu(const Var<T>& a) {
    // y = x s(x), s = sigmoid; dy/dx = s (1 + x (1 - s))
    return unary(
        a, "silu", [](T x) { return x * sigmoid(x); },
        [](T x, T) {
            const T s = sigmoid(x);
            return s * (T(1) + x * (T(1) - s));
        });
}
template <class T>
Var<T> tanh(const Var<T>& a) {
    return unary(a, "tanh", [](T x) { return std::tanh(x); }, [](T, T y) { return T(1) - y * y; });
}
template <class T>
Var<T> relu(const Var<T>& a) {
    return unary(a, "relu", [](T x) { return x > T(0) ? x : T(0); },
                 [](T x, T) { return x > T(0) ? T(1) : T(0); });
}
template <class T>
Var<T> exp(const Var<T>& a) {
    return unary(a, "exp", [](T x) { return std::exp(x); }, [](T, T y) { return y; });
}
template <class T>
Var<T> log(const Var<T>& a) {
    return unary(a, "log", [](T x) { return std::log(x); }, [](T x, T) { return T(1) / x; });
}
template <class T>
Var<T> square(const Var<T>& a) {
    return unary(a, "square", [](T x) { return x * x; }, [](T x, T) { return T(2) * x; });
}

// ---- reductions ------------------------------------------------------------------------------

template <class T>
Var<T> sum(const Var<T>& a, int axis) {
    AM_CHECK(axis >= -1 && axis <= 1, "sum: axis must be -1 (all), 0 (rows) or 1 (columns)");
    const Mat<T>& x = a.value();
    const Index R = rows(x), C = cols(x);
    Mat<T> out = zeros<T>(axis == 1 ? R : 1, axis == 0 ? C : 1);
    for (Index i = 0; i < R; ++i)
        for (Index j = 0; j < C; ++j) out(axis == 1 ? i : 0, axis == 0 ? j : 0) += x(i, j);
    return make_op<T>(std::move(out), {a}, "sum", [](Node<T>& o) {
        // d(sum)/dx_ij = 1: every entry receives the gradient of the sum it fed.
        Node<T>& p = *o.parents[0];
        Mat<T> g = uninit_like(p.value);
        const Index R = rows(g), C = cols(g);
        const Index gr = rows(o.grad) > 1, gc = cols(o.grad) > 1;
        for (Index i = 0; i < R; ++i)
            for (Index j = 0; j < C; ++j) g(i, j) = o.grad(i * gr, j * gc);
        accumulate(p, std::move(g));
    });
}

template <class T>
Var<T> mean(const Var<T>& a, int axis) {
    const Index n = axis == -1 ? Index(a.value().size()) : axis == 0 ? a.rows() : a.cols();
    AM_CHECK(n > 0, "mean: empty input " + shape_str(a.value()));
    return mul_scalar(sum(a, axis), T(1) / T(n));
}

template <class T>
Var<T> log_softmax(const Var<T>& a) {
    const Mat<T>& x = a.value();
    const Index R = rows(x), C = cols(x);
    AM_CHECK(C > 0, "log_softmax: no columns");
    Mat<T> out = uninit_like(x);
#pragma omp parallel for if (R * C > kParallelMin)
    for (Index i = 0; i < R; ++i) {
        const T* xi = x.data() + i * C;
        T m = -std::numeric_limits<T>::infinity();
        for (Index j = 0; j < C; ++j) m = std::max(m, xi[j]);
        T s = 0;
        for (Index j = 0; j < C; ++j) s += std::exp(xi[j] - m);
        const T lse = m + std::log(s);
        for (Index j = 0; j < C; ++j) out.data()[i * C + j] = xi[j] - lse;
    }
    return make_op<T>(std::move(out), {a}, "log_softmax", [](Node<T>& o) {
        // y = x - lse(x): g_x = g_y - softmax(x) * sum_j g_y,j  (softmax = exp(y))
        Node<T>& p = *o.parents[0];
        const Index R = rows(o.value), C = cols(o.value);
        Mat<T> g = uninit_like(p.value);
        for (Index i = 0; i < R; ++i) {
            T gs = 0;
            for (Index j = 0; j < C; ++j) gs += o.grad(i, j);
            for (Index j = 0; j < C; ++j) g(i, j) = o.grad(i, j) - std::exp(o.value(i, j)) * gs;
        }
        accumulate(p, std::move(g));
    });
}

// ---- shape --------------------------------------------------------------------------------------

template <class T>
Var<T> concat_cols(const std::vector<Var<T>>& parts) {
    AM_CHECK(!parts.empty(), "concat_cols: nothing to concatenate");
    const Index R = parts[0].rows();
    Index C = 0;
    for (const auto& p : parts) {
        AM_CHECK(p.rows() == R, "concat_cols: row counts differ: " + shape_str(parts[0].value()) +
                                    " and " + shape_str(p.value()));
        C += p.cols();
    }
    Mat<T> out = uninit<T>(R, C);
    Index c0 = 0;
    for (const auto& p : parts) {
        const Index c = p.cols();
        for (Index i = 0; i < R; ++i)
            for (Index j = 0; j < c; ++j) out(i, c0 + j) = p.value()(i, j);
        c0 += c;
    }
    return make_op<T>(std::move(out), parts, "concat_cols", [](Node<T>& o) {
        // Each part receives its own block of columns of the gradient.
        Index c0 = 0;
        for (auto& pp : o.parents) {
            const Index R = rows(pp->value), c = cols(pp->value);
            if (pp->wanted) {
                Mat<T> g = uninit<T>(R, c);
                for (Index i = 0; i < R; ++i)
                    for (Index j = 0; j < c; ++j) g(i, j) = o.grad(i, c0 + j);
                accumulate(*pp, std::move(g));
            }
            c0 += c;
        }
    });
}

template <class T>
Var<T> slice_cols(const Var<T>& a, Index begin, Index end) {
    AM_CHECK(0 <= begin && begin <= end && end <= a.cols(),
             "slice_cols: columns [" + std::to_string(begin) + ", " + std::to_string(end) +
                 ") out of range for " + shape_str(a.value()));
    const Index R = a.rows(), c = end - begin;
    Mat<T> out = uninit<T>(R, c);
    for (Index i = 0; i < R; ++i)
        for (Index j = 0; j < c; ++j) out(i, j) = a.value()(i, begin + j);
    return make_op<T>(std::move(out), {a}, "slice_cols", [begin](Node<T>& o) {
        // The sliced columns receive the gradient; the others zero.
        Node<T>& p = *o.parents[0];
        Mat<T> g = zeros<T>(rows(p.value), cols(p.value));
        for (Index i = 0; i < rows(o.grad); ++i)
            for (Index j = 0; j < cols(o.grad); ++j) g(i, begin + j) = o.grad(i, j);
        accumulate(p, std::move(g));
    });
}

// ---- explicit instantiation: float (training) and double (gradient checks) ---------------------

#define AM_INSTANTIATE_OPS(T)                                                      \
    template Var<T> add(const Var<T>&, const Var<T>&);                             \
    template Var<T> sub(const Var<T>&, const Var<T>&);                             \
    template Var<T> mul(const Var<T>&, const Var<T>&);                             \
    template Var<T> div(const Var<T>&, const Var<T>&);                             \
    template Var<T> add_scalar(const Var<T>&, T);                                  \
    template Var<T> mul_scalar(const Var<T>&, T);                                  \
    template Var<T> rsub_scalar(const Var<T>&, T);                                 \
    template Var<T> rdiv_scalar(const Var<T>&, T);                                 \
    template Var<T> matmul(const Var<T>&, const Var<T>&);                          \
    template Var<T> linear(const Var<T>&, const Var<T>&, const Var<T>&);           \
    template Var<T> linear_silu(const Var<T>&, const Var<T>&, const Var<T>&);      \
    template Var<T> silu(const Var<T>&);                                           \
    template Var<T> tanh(const Var<T>&);                                           \
    template Var<T> relu(const Var<T>&);                                           \
    template Var<T> exp(const Var<T>&);                                            \
    template Var<T> log(const Var<T>&);                                            \
    template Var<T> square(const Var<T>&);                                         \
    template Var<T> sum(const Var<T>&, int);                                       \
    template Var<T> mean(const Var<T>&, int);                                      \
    template Var<T> log_softmax(const Var<T>&);                                    \
    template Var<T> concat_cols(const std::vector<Var<T>>&);                       \
    template Var<T> slice_cols(const Var<T>&, Index, Index);

AM_INSTANTIATE_OPS(float)
AM_INSTANTIATE_OPS(double)

}  // namespace am::ag
