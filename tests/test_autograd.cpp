// Autograd engine: every op against finite differences (double), the
// chosen-leaves gradient, no-grad mode, the vjp helper, shape errors.
#include <doctest/doctest.h>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "core/fastmath.hpp"

using namespace am;
using namespace am::ag;
using V = Var<double>;
using Leaves = std::vector<V>;

namespace {

Mat<double> randn(Index r, Index c, std::uint64_t seed) { return Rng(seed).normal<double>(r, c); }
Mat<double> positive(Index r, Index c, std::uint64_t seed) {
    Mat<double> m = Rng(seed).uniform<double>(r, c);
    return m + 0.5;  // in [0.5, 1.5): safe for log and division
}

// The finite-difference check passes at 1e-6 relative for every op written
// correctly; a wrong backward (a sign, a factor, a transpose) gives O(1).
void check(const std::function<V(const Leaves&)>& f, std::vector<Mat<double>> in) {
    const auto r = gradcheck(f, std::move(in));
    INFO(r.worst);
    CHECK(r.max_rel_error < 1e-6);
}

}  // namespace

TEST_CASE("autograd: binary ops with broadcasting match finite differences") {
    const auto A = randn(4, 3, 1);
    // every broadcasting pattern: full, row (bias), column (per row), scalar
    for (auto shape : {std::array<Index, 2>{4, 3}, {1, 3}, {4, 1}, {1, 1}}) {
        CAPTURE(shape[0]);
        CAPTURE(shape[1]);
        const auto B = randn(shape[0], shape[1], 2);
        const auto Bp = positive(shape[0], shape[1], 3);
        check([](const Leaves& x) { return x[0] + x[1]; }, {A, B});
        check([](const Leaves& x) { return x[0] - x[1]; }, {A, B});
        check([](const Leaves& x) { return x[0] * x[1]; }, {A, B});
        check([](const Leaves& x) { return x[0] / x[1]; }, {A, Bp});
        check([](const Leaves& x) { return x[1] - x[0]; }, {A, B});  // broadcast on the left
        check([](const Leaves& x) { return x[1] / x[0]; }, {positive(4, 3, 4), B});
    }
}

TEST_CASE("autograd: scalar ops match finite differences") {
    const auto A = positive(3, 5, 5);
    check([](const Leaves& x) { return x[0] + 2.5; }, {A});
    check([](const Leaves& x) { return 3.0 * x[0]; }, {A});
    check([](const Leaves& x) { return x[0] / 4.0; }, {A});
    check([](const Leaves& x) { return 1.5 - x[0]; }, {A});
    check([](const Leaves& x) { return 2.0 / x[0]; }, {A});
    check([](const Leaves& x) { return -x[0]; }, {A});
}

TEST_CASE("autograd: matmul and linear match finite differences") {
    check([](const Leaves& x) { return matmul(x[0], x[1]); }, {randn(5, 3, 6), randn(3, 4, 7)});
    check([](const Leaves& x) { return linear(x[0], x[1], x[2]); },
          {randn(5, 3, 8), randn(3, 4, 9), randn(1, 4, 10)});
    check([](const Leaves& x) { return linear_silu(x[0], x[1], x[2]); },
          {randn(5, 3, 8), randn(3, 4, 9), randn(1, 4, 10)});
    // the fused op is the composition it replaces
    V x(randn(5, 3, 8)), W(randn(3, 4, 9)), b(randn(1, 4, 10));
    CHECK(xt::allclose(linear_silu(x, W, b).value(), silu(linear(x, W, b)).value()));
}

TEST_CASE("autograd: unary ops match finite differences") {
    const auto A = randn(4, 5, 11);
    check([](const Leaves& x) { return silu(x[0]); }, {A});
    check([](const Leaves& x) { return tanh(x[0]); }, {A});
    check([](const Leaves& x) { return exp(x[0]); }, {A});
    check([](const Leaves& x) { return square(x[0]); }, {A});
    check([](const Leaves& x) { return log(x[0]); }, {positive(4, 5, 12)});
    // relu: keep entries away from the kink so central differences are exact
    Mat<double> R = A;
    for (auto& v : R) v = v >= 0 ? v + 0.1 : v - 0.1;
    check([](const Leaves& x) { return relu(x[0]); }, {R});
}

TEST_CASE("autograd: reductions, log-softmax, concat and slice match finite differences") {
    const auto A = randn(4, 5, 13);
    for (int axis : {-1, 0, 1}) {
        CAPTURE(axis);
        check([axis](const Leaves& x) { return sum(x[0], axis); }, {A});
        check([axis](const Leaves& x) { return mean(x[0], axis); }, {A});
    }
    check([](const Leaves& x) { return log_softmax(x[0]); }, {A * 3.0});
    check([](const Leaves& x) { return concat_cols<double>({x[0], x[1], x[0]}); }, {A, randn(4, 2, 14)});
    check([](const Leaves& x) { return slice_cols(x[0], 1, 4); }, {A});
}

TEST_CASE("autograd: log-softmax is stable for large logits") {
    V x(Mat<double>{{1000.0, 0.0, -1000.0}});
    const auto y = log_softmax(x).value();
    CHECK(y(0, 0) == doctest::Approx(0.0));
    CHECK(y(0, 1) == doctest::Approx(-1000.0));
    CHECK(std::isfinite(y(0, 2)));
}

TEST_CASE("autograd: a composite expression reusing a node accumulates gradients") {
    // f = sum(tanh(x W + b) * x W): x W is used twice.
    check(
        [](const Leaves& x) {
            V h = matmul(x[0], x[1]);
            return sum(tanh(h + x[2]) * h);
        },
        {randn(3, 2, 15), randn(2, 4, 16), randn(1, 4, 17)});
}

TEST_CASE("autograd: grad() forms only the gradients of the chosen leaves") {
    V x(randn(3, 2, 20), true), W(randn(2, 2, 21), true), b(randn(1, 2, 22), true);
    V y = sum(square(linear(x, W, b)));
    const auto g = grad(y, {x});
    REQUIRE(g.size() == 1);
    CHECK(g[0].shape() == x.value().shape());
    CHECK_FALSE(W.has_grad());  // the weight gradient was never formed
    CHECK_FALSE(b.has_grad());
    CHECK_FALSE(x.has_grad());  // grad() returns, it does not accumulate
    // and it equals what backward() accumulates into x
    backward(y);
    CHECK(xt::allclose(x.grad(), g[0]));
    CHECK(W.has_grad());
}

TEST_CASE("autograd: backward accumulates across calls and leaves constants alone") {
    V x(Mat<double>{{1.0, 2.0}}, true);
    V c(Mat<double>{{3.0, 4.0}});  // a constant
    backward(sum(x * c));
    backward(sum(x * c));
    CHECK(x.grad()(0, 0) == doctest::Approx(6.0));
    CHECK(x.grad()(0, 1) == doctest::Approx(8.0));
    CHECK_FALSE(c.has_grad());
}

TEST_CASE("autograd: no-grad mode records nothing") {
    V x(randn(2, 2, 30), true);
    V y;
    {
        NoGrad ng;
        CHECK_FALSE(grad_enabled());
        y = silu(x) * 2.0;
    }
    CHECK(grad_enabled());
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node->parents.empty());
    CHECK_THROWS_AS(backward(sum(y)), Error);
}

TEST_CASE("autograd: vjp equals cotangent times the full Jacobian of a small net") {
    // f(x) = tanh(x W1 + b1) W2, x (3, 2) -> (3, 2): rows are independent.
    const Mat<double> W1 = randn(2, 4, 40), b1 = randn(1, 4, 41), W2 = randn(4, 2, 42);
    auto f = [&](const V& x) { return matmul(tanh(linear(x, V(W1), V(b1))), V(W2)); };
    const Mat<double> x = randn(3, 2, 43), cot = randn(3, 2, 44);
    Mat<double> fx;
    const Mat<double> g = vjp<double>(f, x, cot, &fx);
    CHECK(xt::allclose(fx, f(V(x)).value()));
    // Full Jacobian by central differences, J[(i,a),(j,b)] = d f_ia / d x_jb.
    const double eps = 1e-6;
    Mat<double> expect = zeros<double>(3, 2);
    for (Index j = 0; j < 3; ++j)
        for (Index bcol = 0; bcol < 2; ++bcol) {
            Mat<double> up = x, dn = x;
            up(j, bcol) += eps;
            dn(j, bcol) -= eps;
            const Mat<double> d = (f(V(up)).value() - f(V(dn)).value()) / (2 * eps);
            for (Index i = 0; i < 3; ++i)
                for (Index a = 0; a < 2; ++a) expect(j, bcol) += cot(i, a) * d(i, a);
        }
    CHECK(xt::allclose(g, expect, 1e-7, 1e-8));
}

TEST_CASE("autograd: shape errors are clear") {
    V a(randn(2, 3, 50), true), b(randn(4, 3, 51));
    CHECK_THROWS_WITH_AS(a + b, doctest::Contains("do not broadcast"), Error);
    CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("inner sizes differ"), Error);
    CHECK_THROWS_WITH_AS(slice_cols(a, 2, 5), doctest::Contains("out of range"), Error);
    CHECK_THROWS_WITH_AS(concat_cols<double>({a, b}), doctest::Contains("row counts differ"), Error);
    const Mat<double> wrong = zeros<double>(1, 1);
    CHECK_THROWS_WITH_AS(backward(a * 2.0, &wrong), doctest::Contains("seed"), Error);
}

TEST_CASE("autograd: float ops agree with double ops") {
    const Mat<double> xd = randn(6, 3, 60), Wd = randn(3, 5, 61), bd = randn(1, 5, 62);
    Var<float> x(xt::cast<float>(xd), true), W(xt::cast<float>(Wd), true), b(xt::cast<float>(bd), true);
    V xD(xd, true), WD(Wd, true), bD(bd, true);
    backward(mean(square(silu(linear(x, W, b)))));
    backward(mean(square(silu(linear(xD, WD, bD)))));
    CHECK(xt::allclose(xt::cast<double>(W.grad()), WD.grad(), 1e-4, 1e-6));
    CHECK(xt::allclose(xt::cast<double>(x.grad()), xD.grad(), 1e-4, 1e-6));
}

TEST_CASE("autograd: the vectorisable exp used by SiLU matches std::exp") {
    double worst = 0;
    for (float x = -87.0f; x <= 88.3f; x += 0.001953125f) {
        const double ref = std::exp(double(x));
        worst = std::max(worst, std::abs(double(fast_exp(x)) - ref) / ref);
    }
    CHECK(worst < 3e-7);
    CHECK(fast_exp(-200.0f) >= 0.0f);      // clamped, no garbage from the exponent bits
    CHECK(std::isfinite(fast_exp(200.0f)));
    CHECK(sigmoid(0.0f) == doctest::Approx(0.5));
}
