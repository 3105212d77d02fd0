// The device layer (src/device/, the Thrust engine) against its reference
// twins on the same inputs: the gemm seam against am::gemm, the velocity MLP's
// forward, input VJP and parameter gradients against the autograd
// nn::VelocityMLP; Philox against the Random123 known-answer vectors.
//
// Error bounds (float, eps = 2^-24 ~ 6e-8): both sides compute the same sums
// in a different order (BLAS blocking, threads), so each differs from the
// exact value by at most k eps sum|terms| per product of length k (k <= 65
// here), about 4e-6 of the largest term, over at most four layers; the checks
// allow 2e-5 of the array's largest magnitude, and a wrong transpose, bias or
// activation derivative errs by O(1) of it.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/philox.hpp"
#include "core/random.hpp"
#include "device/blas.hpp"
#include "device/bridge.hpp"
#include "flow/network_field.hpp"
#include "test_support.hpp"

using namespace am;

namespace {

Mat<float> random_mat(Index r, Index c, Rng& rng, double scale = 1.0) {
    Mat<float> m = zeros<float>(r, c);
    for (auto& v : m) v = float(scale * rng.normal());
    return m;
}

// max |a - b| / max |b|
double rel_err(const std::vector<float>& a, const Mat<float>& b) {
    REQUIRE(a.size() == b.size());
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num = std::max(num, std::abs(double(a[i]) - double(b.data()[i])));
        den = std::max(den, std::abs(double(b.data()[i])));
    }
    return num / den;
}

constexpr double kTol = 2e-5;

}  // namespace

TEST_CASE("device: the gemm seam equals am::gemm for every transpose and leading dimension") {
    Rng rng(3);
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            const Index m = 7, n = 5, k = 9;
            Mat<float> A = ta ? random_mat(k, m, rng) : random_mat(m, k, rng);
            Mat<float> B = tb ? random_mat(n, k, rng) : random_mat(k, n, rng);
            Mat<float> C0 = random_mat(m, n, rng);
            Mat<float> ref = C0;
            gemm(A, ta, B, tb, ref, 0.5f, 2.0f);
            device::Array dA, dB, dC;
            device::upload(A, dA);
            device::upload(B, dB);
            device::upload(C0, dC);
            device::gemm(ta, tb, int(m), int(n), int(k), 0.5f, dA.data(), int(cols(A)), dB.data(), int(cols(B)), 2.0f,
                         dC.data(), int(n));
            INFO("transA " << ta << ", transB " << tb);
            CHECK(rel_err(dC.to_host(), ref) < kTol);
        }
    // a leading dimension larger than the row: C's first 3 columns of a (4, 6) block
    Mat<float> A = random_mat(4, 2, rng), B = random_mat(2, 3, rng), ref = zeros<float>(4, 3);
    gemm(A, false, B, false, ref);
    device::Array dA, dB, dC(4 * 6);
    device::upload(A, dA);
    device::upload(B, dB);
    device::gemm(false, false, 4, 3, 2, 1.0f, dA.data(), 2, dB.data(), 3, 0.0f, dC.data(), 6);
    const std::vector<float> c = dC.to_host();
    std::vector<float> block;
    for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 3; ++j) block.push_back(c[r * 6 + j]);
    CHECK(rel_err(block, ref) < kTol);
    CHECK(c[3] == 0.0f);  // the columns beyond n stay untouched
}

TEST_CASE("device: parameters round-trip through the bridge; bad shapes are refused") {
    Rng rng(5);
    nn::VelocityMLP<float> a(3, 8, 2, rng), b(3, 8, 2, rng);
    device::Array p;
    device::upload_parameters(a, p);
    CHECK(p.size() == a.num_parameters());
    device::download_parameters(p, b);
    for (std::size_t i = 0; i < a.parameters().size(); ++i)
        CHECK(xt::all(xt::equal(a.parameters()[i].value(), b.parameters()[i].value())));
    nn::VelocityMLP<float> c(3, 9, 2, rng);
    testing::check_error([&] { device::download_parameters(p, c); }, {"device parameters", "network of"});
    testing::check_error([&] { device::mlp_layout(2, 0, 3, "here"); }, {"here", "width"});
}

TEST_CASE("device: velocity MLP forward, input VJP and parameter gradients equal the autograd MLP") {
    for (int depth : {1, 3}) {
        Rng rng(11 + depth);
        const Index d = 3, H = 16, N = 37;
        nn::VelocityMLP<float> net(d, H, depth, rng);
        const Mat<float> x = random_mat(N, d, rng), cot = random_mat(N, d, rng);
        Mat<float> t = zeros<float>(N, 1);
        for (auto& v : t) v = float(rng.uniform());

        // reference: the autograd tape
        ag::Var<float> xv(x, true);
        const ag::Var<float> v = net.forward(xv, ag::Var<float>(t));
        std::vector<ag::Var<float>> wrt = net.parameters();
        wrt.push_back(xv);
        const std::vector<Mat<float>> g = ag::grad(v, wrt, &cot);

        // device
        const device::MLPLayout m = device::layout_of(net);
        device::Array params, dx, dt, dv(N * d), dcot, dgx(N * d), dgrad(m.size());
        device::upload_parameters(net, params);
        device::upload(x, dx);
        device::upload(t, dt);
        device::upload(cot, dcot);
        device::MLPTape tape;
        device::mlp_forward(m, params.data(), dx.data(), dt.data(), 0.0f, int(N), dv.data(), tape);
        device::mlp_backward(m, params.data(), tape, dcot.data(), dgx.data(), dgrad.data());

        INFO("depth " << depth);
        CHECK(rel_err(dv.to_host(), v.value()) < kTol);
        CHECK(rel_err(dgx.to_host(), g.back()) < kTol);
        const std::vector<float> grad = dgrad.to_host();
        std::size_t off = 0;
        for (std::size_t i = 0; i + 1 < wrt.size(); ++i) {
            INFO("parameter tensor " << i);
            std::vector<float> part(grad.begin() + off, grad.begin() + off + g[i].size());
            CHECK(rel_err(part, g[i]) < kTol);
            off += g[i].size();
        }
        CHECK(off == m.size());

        // the input VJP alone (the lean adjoint's product), at one time for all rows,
        // against NetworkVelocity::vjp; the tape is reused at a smaller batch
        const Index n2 = 20;
        const Mat<float> x2 = xt::view(x, xt::range(0, n2), xt::all());
        const Mat<float> c2 = xt::view(cot, xt::range(0, n2), xt::all());
        Mat<float> v_ref;
        const Mat<float> gx_ref = flow::NetworkVelocity(net).vjp(x2, 0.3f, c2, &v_ref);
        device::upload(x2, dx);
        device::upload(c2, dcot);
        device::mlp_forward(m, params.data(), dx.data(), nullptr, 0.3f, int(n2), dv.data(), tape);
        device::mlp_backward(m, params.data(), tape, dcot.data(), dgx.data(), nullptr);
        std::vector<float> v2 = dv.to_host(), gx2 = dgx.to_host();
        v2.resize(n2 * d);
        gx2.resize(n2 * d);
        CHECK(rel_err(v2, v_ref) < kTol);
        CHECK(rel_err(gx2, gx_ref) < kTol);
    }
}

TEST_CASE("device: Philox4x32-10 matches the Random123 known-answer vectors; its noise is N(0, 1)") {
    auto check = [](Philox4 c, std::uint32_t k0, std::uint32_t k1, Philox4 want) {
        const Philox4 r = philox4x32_10(c, k0, k1);
        for (int i = 0; i < 4; ++i) CHECK(r.v[i] == want.v[i]);
    };
    check({{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
    check({{~0u, ~0u, ~0u, ~0u}}, ~0u, ~0u, {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
    check({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
          {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});

    // 1M draws over (i, k, j): the standard errors of the mean and the variance
    // of N(0, 1) are 1e-3 and 1.4e-3; 3 of each allow |mean| + |var - 1| < 7e-3
    double s = 0, s2 = 0;
    const int n_i = 1000, n_k = 10, n_j = 100;
    for (int i = 0; i < n_i; ++i)
        for (int k = 0; k < n_k; ++k)
            for (int j = 0; j < n_j; ++j) {
                const double z = noise(42, std::uint64_t(i), std::uint32_t(k), std::uint32_t(j));
                s += z;
                s2 += z * z;
            }
    const double n = double(n_i) * n_k * n_j, mean = s / n, var = s2 / n - mean * mean;
    INFO("mean " << mean << ", var " << var);
    CHECK(std::abs(mean) + std::abs(var - 1) < 7e-3);
    // a pure function of its arguments: the same value again, other values for another seed or index
    CHECK(noise(42, 7, 3, 5) == noise(42, 7, 3, 5));
    CHECK(noise(42, 7, 3, 5) != noise(43, 7, 3, 5));
    CHECK(noise(42, 7, 3, 5) != noise(42, 7, 3, 6));
    CHECK(noise(42, std::uint64_t(1) << 32, 0, 0) != noise(42, 0, 0, 0));
}
