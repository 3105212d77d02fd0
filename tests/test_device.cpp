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
#include "data/mixture.hpp"
#include "device/blas.hpp"
#include "device/bridge.hpp"
#include "device/finetune.hpp"
#include "device/optim.hpp"
#include "device/trainer.hpp"
#include "finetune/adjoint.hpp"
#include "finetune/model.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/tilt.hpp"
#include "finetune/trainer.hpp"
#include "flow/network_field.hpp"
#include "flow/sampler.hpp"
#include "flow/path.hpp"
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

// A CUDA build (make CUDA=1) on a machine without a GPU: the device tests skip
// (one message), they do not fail. The CPU builds always have their device.
bool device_ready() {
    static const bool ok = device::device_available();
    static bool said = false;
    if (!ok && !said) {
        MESSAGE("no usable GPU: the device tests are skipped");
        said = true;
    }
    return ok;
}
#define SKIP_WITHOUT_DEVICE() \
    if (!device_ready()) return

}  // namespace

TEST_CASE("device: the gemm seam equals am::gemm for every transpose and leading dimension") {
    SKIP_WITHOUT_DEVICE();
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
    SKIP_WITHOUT_DEVICE();
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
    SKIP_WITHOUT_DEVICE();
    struct Config {
        int depth, time_features;
        nn::VelocityOutput output;
    };
    // the plain network; time features and a data output (rows with t > 0.95 meet the gap's floor)
    for (const Config cfg : {Config{1, 0, nn::VelocityOutput::Velocity}, Config{3, 0, nn::VelocityOutput::Velocity},
                             Config{2, 3, nn::VelocityOutput::Data}}) {
        const int depth = cfg.depth;
        Rng rng(11 + depth);
        const Index d = 3, H = 16, N = 37;
        nn::VelocityMLP<float> net(d, H, depth, rng, cfg.time_features, cfg.output);
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
        tape.resize(m, int(N));
        device::mlp_forward(m, params.data(), dx.data(), dt.data(), 0.0f, int(N), dv.data(), tape, 0);
        device::mlp_backward(m, params.data(), tape, 0, int(N), dcot.data(), dgx.data(), dgrad.data());

        INFO("depth " << depth << ", " << cfg.time_features << " time features, output "
                       << nn::velocity_output_name(cfg.output));
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
        tape.resize(m, int(n2));
        device::mlp_forward(m, params.data(), dx.data(), nullptr, 0.3f, int(n2), dv.data(), tape, 0);
        device::mlp_backward(m, params.data(), tape, 0, int(n2), dcot.data(), dgx.data(), nullptr);
        std::vector<float> v2 = dv.to_host(), gx2 = dgx.to_host();
        v2.resize(n2 * d);
        gx2.resize(n2 * d);
        CHECK(rel_err(v2, v_ref) < kTol);
        CHECK(rel_err(gx2, gx_ref) < kTol);

        // two forwards stacked in one tape (x2 at t = 0.3 in rows [0, n2), x in rows [n2, n2 + N)):
        // the backward of the second block alone gives the first test's gradients
        device::Array dv2(n2 * d);
        device::upload(x, dx);
        device::upload(cot, dcot);
        device::Array dx2;
        device::upload(x2, dx2);
        tape.resize(m, int(n2 + N));
        device::mlp_forward(m, params.data(), dx2.data(), nullptr, 0.3f, int(n2), dv2.data(), tape, 0);
        device::mlp_forward(m, params.data(), dx.data(), dt.data(), 0.0f, int(N), dv.data(), tape, int(n2));
        device::mlp_backward(m, params.data(), tape, int(n2), int(N), dcot.data(), dgx.data(), dgrad.data());
        CHECK(rel_err(dv.to_host(), v.value()) < kTol);
        CHECK(rel_err(dgx.to_host(), g.back()) < kTol);
        const std::vector<float> grad2 = dgrad.to_host();
        CHECK(rel_err(std::vector<float>(grad2.begin(), grad2.begin() + g[0].size()), g[0]) < kTol);
        CHECK(rel_err(std::vector<float>(grad2.end() - g[2 * depth + 1].size(), grad2.end()), g[2 * depth + 1]) < kTol);
        // a block beyond the tape's rows is refused
        testing::check_error(
            [&] { device::mlp_forward(m, params.data(), dx.data(), dt.data(), 0.0f, int(N), dv.data(), tape, int(n2) + 1); },
            {"mlp_forward", "rows [21, 58)", "holding 57"});
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

// ---- stage 2: the sampler, the lean adjoint, the loss, Adam, one whole iteration ----------------

namespace {

// A small base network and a fine-tuned copy whose weights differ from it (delta != 0).
struct SmallSetup {
    Rng rng{21};
    nn::VelocityMLP<float> base{2, 16, 2, rng};
    flow::NetworkVelocity base_field{base};
    flow::StepGrid grid = flow::make_step_grid(*flow::make_path("condot"), flow::parse_noise("memoryless"), 10,
                                               flow::Scheme::Exact);
    finetune::LinearReward reward{{1.0f, 0.5f}};
    static constexpr int B = 24;
    SmallSetup() { nn::freeze(base); }
};

void perturb(const std::vector<ag::Var<float>>& params, Rng& rng, double scale) {
    for (auto p : params)
        for (auto& v : p.value()) v += float(scale * rng.normal());
}

std::vector<float> flat(const std::vector<Mat<float>>& ms) {
    std::vector<float> out;
    for (const auto& m : ms) out.insert(out.end(), m.begin(), m.end());
    return out;
}

Mat<float> block_of(const device::Array& a, std::size_t k, Index B, Index d) {
    Mat<float> m = zeros<float>(B, d);
    a.download(m.data(), k * std::size_t(B * d), std::size_t(B * d));
    return m;
}

}  // namespace

TEST_CASE("device: Philox trajectories with the fused SDE step equal flow::sample_sde with the same noise") {
    SKIP_WITHOUT_DEVICE();
    SmallSetup s;
    const std::uint64_t key = philox_key(7, 3);
    std::vector<Mat<float>> ref;
    Mat<float> x0 = zeros<float>(s.B, 2);
    flow::fill_philox(x0, key, 0);
    flow::sample_sde(s.base_field, s.grid, x0, flow::philox_noise(key), &ref);

    const device::MLPLayout m = device::layout_of(s.base);
    device::Array params, traj;
    device::upload_parameters(s.base, params);
    device::FineTuneBuffers buf;
    device::sample_trajectories(m, params.data(), device::step_coefficients(s.grid), key, 0, s.B, traj, buf, {});
    for (std::size_t k = 0; k < ref.size(); ++k) {
        INFO("state " << k);
        const Mat<float> got = block_of(traj, k, s.B, 2);
        CHECK(rel_err(std::vector<float>(got.begin(), got.end()), ref[k]) < 1e-5);
    }
}

TEST_CASE("device: the lean adjoint equals finetune::lean_adjoint on the same trajectories") {
    SKIP_WITHOUT_DEVICE();
    SmallSetup s;
    Rng rng(4);
    std::vector<Mat<float>> traj;
    flow::sample_sde(s.base_field, s.grid, rng.normal<float>(s.B, 2), rng, &traj);
    const Mat<float> aK = finetune::terminal_adjoint(s.reward, 2.0, traj.back());
    const finetune::Adjoint ref = finetune::lean_adjoint(s.base_field, s.grid, traj, aK);

    const std::size_t K = s.grid.size(), block = std::size_t(s.B) * 2;
    const device::MLPLayout m = device::layout_of(s.base);
    device::Array params, dtraj((K + 1) * block), a((K + 1) * block), vb;
    device::upload_parameters(s.base, params);
    for (std::size_t k = 0; k <= K; ++k) dtraj.write(k * block, traj[k].data(), block);
    a.write(K * block, aK.data(), block);
    device::FineTuneBuffers buf;
    device::lean_adjoint(m, params.data(), device::step_coefficients(s.grid), dtraj, s.B, a, vb, buf);
    for (std::size_t k = 0; k < K; ++k) {
        INFO("step " << k);
        const Mat<float> ak = block_of(a, k, s.B, 2), vk = block_of(vb, k, s.B, 2);
        CHECK(rel_err(std::vector<float>(ak.begin(), ak.end()), ref.a[k]) < kTol);
        CHECK(rel_err(std::vector<float>(vk.begin(), vk.end()), ref.v_base[k]) < kTol);
    }
}

TEST_CASE("device: the adjoint-matching loss and its gradient equal the autograd loss (with and without clip)") {
    SKIP_WITHOUT_DEVICE();
    SmallSetup s;
    finetune::CopyOfNetwork ft(s.base_field);
    Rng rng(8);
    perturb(ft.parameters(), rng, 0.05);
    std::vector<Mat<float>> traj;
    flow::sample_sde(ft, s.grid, rng.normal<float>(s.B, 2), rng, &traj);
    const Mat<float> aK = finetune::terminal_adjoint(s.reward, 2.0, traj.back());
    const finetune::Adjoint adj = finetune::lean_adjoint(s.base_field, s.grid, traj, aK);
    const std::vector<int> steps{0, 3, 8, 9};

    const std::size_t K = s.grid.size(), block = std::size_t(s.B) * 2;
    const device::MLPLayout m = device::layout_of(ft.net());
    device::Array params, dtraj((K + 1) * block), a((K + 1) * block), vb(K * block), grad(m.size());
    device::upload_parameters(ft.net(), params);
    for (std::size_t k = 0; k <= K; ++k) {
        dtraj.write(k * block, traj[k].data(), block);
        a.write(k * block, adj.a[k].data(), block);
        if (k < K) vb.write(k * block, adj.v_base[k].data(), block);
    }
    device::FineTuneBuffers buf;
    // a clip that drops some of the terms (the engines must drop the same ones)
    for (double clip : {0.0, 1.0}) {
        finetune::LossInfo info;
        const ag::Var<float> loss = finetune::adjoint_matching_loss(ft, s.grid, traj, adj, steps, clip, &info);
        const std::vector<float> g_ref = flat(ag::grad(loss, ft.parameters()));
        device::loss_forward(m, params.data(), device::step_coefficients(s.grid), steps, dtraj, s.B, buf);
        const device::LossResult got = device::adjoint_matching_loss(
            m, params.data(), device::step_coefficients(s.grid), steps, dtraj, a, vb, s.B, clip, grad.data(), buf);
        INFO("clip " << clip << ", clipped " << info.clipped_fraction);
        if (clip > 0) CHECK((info.clipped_fraction > 0.1 && info.clipped_fraction < 0.9));
        CHECK(got.terms == info.terms);
        CHECK(got.clipped_fraction == info.clipped_fraction);
        CHECK(std::abs(got.loss - loss.item()) <= kTol * std::abs(loss.item()));
        Mat<float> g_ref_mat = zeros<float>(1, Index(g_ref.size()));
        std::copy(g_ref.begin(), g_ref.end(), g_ref_mat.begin());
        CHECK(rel_err(grad.to_host(), g_ref_mat) < kTol);
    }
}

TEST_CASE("device: Adam equals nn::Adam (bias correction, gradient clipping, weight decay)") {
    SKIP_WITHOUT_DEVICE();
    Rng rng(9);
    Mat<float> w0 = random_mat(5, 7, rng);
    ag::Var<float> p(w0, true);
    nn::AdamConfig cfg{1e-2};
    cfg.clip_norm = 1.0;
    cfg.weight_decay = 0.1;
    nn::Adam<float> ref({p}, cfg);
    device::AdamState st;
    st.lr = cfg.lr;
    st.clip_norm = cfg.clip_norm;
    st.weight_decay = cfg.weight_decay;
    device::Array w, g;
    device::upload(w0, w);
    for (int step = 0; step < 3; ++step) {
        const Mat<float> grad = random_mat(5, 7, rng, step == 1 ? 0.01 : 3.0);  // clipped, not clipped, clipped
        p.grad() = grad;
        const double n_ref = ref.step();
        device::upload(grad, g);
        const device::AdamResult r = device::adam_step(st, w.data(), g.data(), g.size());
        const double n_dev = r.grad_norm;
        CHECK(r.non_finite == 0);
        CHECK(std::abs(n_dev - n_ref) <= 1e-6 * n_ref);
        CHECK(rel_err(w.to_host(), p.value()) < 1e-6);
    }
    std::vector<float> bad(35, 0.0f);
    bad[3] = std::nanf("");
    g.upload(bad.data(), bad.size());
    // a NaN gradient: no update (the trainers then stop with the reference's error)
    const std::vector<float> before = w.to_host();
    const device::AdamResult r = device::adam_step(st, w.data(), g.data(), g.size());
    CHECK(std::isnan(r.grad_norm));
    CHECK(st.t == 3);
    CHECK(w.to_host() == before);
    // a learning rate that overflows float (inf, as in nn::Adam): the update makes the weights non-finite
    std::vector<float> ones(35, 1.0f);
    g.upload(ones.data(), ones.size());
    device::AdamState huge;
    huge.lr = 1e39;
    CHECK(device::count_non_finite(w.data(), w.size()) == 0);
    CHECK(device::adam_step(huge, w.data(), g.data(), g.size()).non_finite == 35);
    CHECK(device::count_non_finite(w.data(), w.size()) == 35);
}

TEST_CASE("device: one whole adjoint-matching iteration gives the reference's parameters (same weights, same Philox noise)") {
    SKIP_WITHOUT_DEVICE();
    SmallSetup s;
    finetune::FineTuneConfig cfg;
    cfg.lambda = 2.0;
    cfg.batch = s.B;
    cfg.loss_steps = finetune::LossSteps::parse("paper");
    cfg.adam.lr = 1e-3;
    cfg.philox_noise = true;
    finetune::CopyOfNetwork ft(s.base_field);
    finetune::FineTuner ref(ft, s.reward, s.grid, cfg, 5);
    device::AMTrainer dev(s.base, s.base, s.reward, s.grid, cfg, 5);
    nn::VelocityMLP<float> got = s.base.clone();
    for (int it = 0; it < 3; ++it) {
        const finetune::IterationStats a = ref.iterate(), b = dev.iterate();
        INFO("iteration " << it);
        CHECK(std::abs(a.loss - b.loss) <= 1e-4 * std::abs(a.loss));
        CHECK(std::abs(a.reward_mean - b.reward_mean) <= 1e-4 * (1 + std::abs(a.reward_mean)));
        CHECK(std::abs(a.grad_norm - b.grad_norm) <= 1e-4 * a.grad_norm);
        dev.download(got);
        // Adam's first steps move each weight by about lr whatever the rounding of its
        // gradient: the weights agree to float rounding of their values
        const auto pr = ft.parameters(), pg = got.parameters();
        for (std::size_t i = 0; i < pr.size(); ++i) {
            const Mat<float> diff = pg[i].value() - pr[i].value();
            CHECK(xt::amax(xt::abs(diff))() <= 1e-6 * (1 + xt::amax(xt::abs(pr[i].value()))()));
        }
    }
    // without Philox noise the reference draws other trajectories: the comparison can fail
    cfg.philox_noise = false;
    finetune::CopyOfNetwork ft2(s.base_field);
    finetune::FineTuner other(ft2, s.reward, s.grid, cfg, 5);
    device::AMTrainer dev2(s.base, s.base, s.reward, s.grid, cfg, 5);
    CHECK(std::abs(other.iterate().reward_mean - dev2.iterate().reward_mean) > 1e-3);
}

TEST_CASE("device: the cosine learning rate and the relative gradient clip act on the thrust engine as on the reference") {
    SKIP_WITHOUT_DEVICE();
    SmallSetup s;
    finetune::FineTuneConfig cfg;
    cfg.lambda = 2.0;
    cfg.batch = s.B;
    cfg.adam.lr = 1e-3;
    cfg.philox_noise = true;
    cfg.iters = 4;
    cfg.lr_final_fraction = 0.1;
    cfg.clip_relative = 0.5;  // half the running norm: every iteration after the first is clipped
    finetune::CopyOfNetwork ft(s.base_field);
    finetune::FineTuner ref(ft, s.reward, s.grid, cfg, 5);
    device::AMTrainer dev(s.base, s.base, s.reward, s.grid, cfg, 5);
    nn::VelocityMLP<float> got = s.base.clone();
    int clipped = 0;
    for (int it = 0; it < 4; ++it) {
        const finetune::IterationStats a = ref.iterate(), b = dev.iterate();
        INFO("iteration " << it);
        CHECK(a.lr == b.lr);
        CHECK(a.norm_clipped == b.norm_clipped);
        CHECK(std::abs(a.grad_norm - b.grad_norm) <= 1e-4 * a.grad_norm);
        clipped += b.norm_clipped;
        if (it == 3) CHECK(b.lr == doctest::Approx(1e-4).epsilon(1e-12));
    }
    CHECK(clipped == 3);
    dev.download(got);
    const auto pr = ft.parameters(), pg = got.parameters();
    for (std::size_t i = 0; i < pr.size(); ++i) {
        const Mat<float> diff = pg[i].value() - pr[i].value();
        CHECK(xt::amax(xt::abs(diff))() <= 1e-6 * (1 + xt::amax(xt::abs(pr[i].value()))()));
    }
}

TEST_CASE("device: flow-matching steps equal flow::FlowMatchingTrainer (same batches, same weights after)") {
    SKIP_WITHOUT_DEVICE();
    Rng init(31);
    const nn::VelocityMLP<float> start(2, 16, 2, init);
    const auto ring = data::default_ring();
    auto data = [&](Index n, Rng& r) { return ring.sample(n, r); };
    const flow::CondOT path;
    nn::VelocityMLP<float> ref_net = start.clone();
    flow::FlowMatchingTrainer ref(ref_net, path, data, 64, nn::AdamConfig{1e-3});
    device::FMTrainer dev(start, path, data, 64, nn::AdamConfig{1e-3});
    Rng r1(4), r2(4);
    nn::VelocityMLP<float> got = start.clone();
    for (int s = 0; s < 5; ++s) {
        const double a = ref.step(r1), b = dev.step(r2);
        INFO("step " << s);
        CHECK(std::abs(a - b) <= 1e-5 * a);
    }
    dev.download(got);
    const auto pr = ref_net.parameters(), pg = got.parameters();
    for (std::size_t i = 0; i < pr.size(); ++i) {
        const Mat<float> diff = pg[i].value() - pr[i].value();
        CHECK(xt::amax(xt::abs(diff))() <= 1e-6 * (1 + xt::amax(xt::abs(pr[i].value()))()));
    }
    // the whole loop with the moving average: both engines end on the same weights
    flow::FlowMatchingConfig cfg;
    cfg.steps = 20;
    cfg.batch = 32;
    cfg.ema_decay = 0.9;
    cfg.progress_seconds = 0;
    nn::VelocityMLP<float> n1 = start.clone(), e1 = start.clone(), n2 = start.clone(), e2 = start.clone();
    Rng q1(8), q2(8);
    const flow::TrainLog l1 = flow::train_flow_matching(n1, path, data, cfg, q1, &e1);
    const flow::TrainLog l2 = device::train_flow_matching(n2, path, data, cfg, q2, &e2);
    CHECK(std::abs(l1.final_loss() - l2.final_loss()) <= 1e-4 * l1.final_loss());
    for (std::size_t i = 0; i < n1.parameters().size(); ++i) {
        const Mat<float> dn = n2.parameters()[i].value() - n1.parameters()[i].value();
        const Mat<float> de = e2.parameters()[i].value() - e1.parameters()[i].value();
        CHECK(xt::amax(xt::abs(dn))() <= 1e-5);
        CHECK(xt::amax(xt::abs(de))() <= 1e-5);
        CHECK(xt::amax(xt::abs(e1.parameters()[i].value() - start.parameters()[i].value()))() > 1e-4);  // it moved
    }
}

TEST_CASE("device: sampling a network equals flow::sample_sde with the same Philox noise, whatever the batch") {
    SKIP_WITHOUT_DEVICE();
    SmallSetup s;
    const Index n = 50;
    Mat<float> x0 = zeros<float>(n, 2);
    const std::uint64_t key = philox_key(9, 0);
    flow::fill_philox(x0, key, 0);
    const Mat<float> ref = flow::sample_sde(s.base_field, s.grid, x0, flow::philox_noise(key));
    for (Index batch : {Index(7), Index(64)}) {
        const Mat<float> got = device::sample(s.base, s.grid, n, 9, batch);
        INFO("batch " << batch);
        CHECK(rel_err(std::vector<float>(got.begin(), got.end()), ref) < 1e-5);
    }
}

TEST_CASE("device: amflow --backend thrust on pretrain, finetune and sample; what it cannot run is a one-line error") {
    SKIP_WITHOUT_DEVICE();
    testing::TempDir dir;
    const std::string base = dir / "base.ckpt", ft = dir / "ft.ckpt", csv = dir / "s.csv";
    testing::CliResult r = testing::amflow({"pretrain", "--backend", "thrust", "--steps", "30", "--batch", "64",
                                            "--width", "16", "--depth", "2", "--out", base});
    INFO(r.err << r.log);
    REQUIRE(r.status == 0);
    if (testing::capture_stderr) CHECK(r.log.find("thrust (") != std::string::npos);  // (no log under ASan)
    r = testing::amflow({"finetune", "--model", base, "--backend", "thrust", "--iters", "3", "--steps", "6",
                         "--batch", "32", "--eval-n", "200", "--out", ft});
    INFO(r.err << r.log);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("\"backend\": \"thrust\"") != std::string::npos);
    CHECK(r.out.find("\"tv\"") != std::string::npos);
    r = testing::amflow({"sample", "--model", ft, "--backend", "thrust", "--n", "40", "--steps", "6", "--out", csv});
    INFO(r.err << r.log);
    REQUIRE(r.status == 0);
    std::ifstream f(csv);
    std::string line;
    int lines = 0;
    while (std::getline(f, line)) ++lines;
    CHECK(lines == 41);  // header + 40 samples

    testing::check_one_line_error({"sample", "--model", ft, "--backend", "cuda"}, "expected autograd or thrust");
    testing::check_one_line_error({"finetune", "--model", base, "--backend", "thrust", "--method", "bptt"},
                                  "needs --backend autograd");
    testing::check_one_line_error({"finetune", "--mixture", "ring", "--backend", "thrust"}, "network base");
    testing::check_one_line_error({"sample", "--mixture", "ring", "--backend", "thrust"}, "needs --backend autograd");
    testing::check_one_line_error({"sample", "--model", ft, "--backend", "thrust", "--noise", "ode"},
                                  "--ode-method euler");
}

TEST_CASE("device: finetune on the ring with the thrust engine reaches the autograd engine's TV (within the seed spread) [slow]") {
    SKIP_WITHOUT_DEVICE();
    // L7's setting (tests/test_finetune.cpp): a small network trained briefly on
    // the ring, fine-tuned toward r = x_0 with lambda = 0.5 (base TV to the
    // tilt 0.48), 250 iterations of 256 at K = 20, evaluated on 8000 samples of
    // the same sampler. Three seeds per engine: the engines draw different noise
    // (Rng against Philox), so they agree only up to the seed-to-seed spread.
    Rng rng(21);
    const auto ring = data::default_ring();
    nn::VelocityMLP<float> net(2, 64, 2, rng);
    flow::FlowMatchingConfig fm;
    fm.steps = 1500;
    fm.batch = 256;
    fm.adam.lr = 3e-3;
    fm.progress_seconds = 0;
    const flow::CondOT path;
    device::train_flow_matching(net, path, [&](Index n, Rng& r) { return ring.sample(n, r); }, fm, rng);
    nn::freeze(net);
    const flow::NetworkVelocity base(net);
    finetune::LinearReward reward({1.0f, 0.0f});
    const auto target = finetune::exact_tilt(ring, reward, 0.5);
    const auto grid = flow::make_step_grid(path, flow::parse_noise("memoryless"), 20, flow::Scheme::Exact);
    finetune::FineTuneConfig cfg;
    cfg.lambda = 0.5;
    cfg.batch = 256;
    cfg.adam = nn::AdamConfig{1e-3};
    auto tv_of = [&](const finetune::CopyOfNetwork& ft) {
        ag::NoGrad no_tape;
        Rng srng(6);
        return finetune::evaluate(flow::sample_sde(ft, grid, srng.normal<float>(8000, 2), srng), target, &reward).tv;
    };
    std::vector<double> tv_ag, tv_th;
    for (std::uint64_t seed : {5, 6, 7}) {
        finetune::CopyOfNetwork a(base), b(base);
        finetune::FineTuner tuner(a, reward, grid, cfg, seed);
        device::AMTrainer trainer(net, net, reward, grid, cfg, seed);
        for (int i = 0; i < 250; ++i) tuner.iterate(), trainer.iterate();
        trainer.download(b.net());
        tv_ag.push_back(tv_of(a));
        tv_th.push_back(tv_of(b));
    }
    const auto [lo, hi] = std::minmax_element(tv_ag.begin(), tv_ag.end());
    const double mean_ag = (tv_ag[0] + tv_ag[1] + tv_ag[2]) / 3, mean_th = (tv_th[0] + tv_th[1] + tv_th[2]) / 3;
    MESSAGE("mode-weight TV, seeds 5, 6, 7: autograd " << tv_ag[0] << " " << tv_ag[1] << " " << tv_ag[2]
                                                      << ", thrust " << tv_th[0] << " " << tv_th[1] << " " << tv_th[2]);
    // each thrust run within the autograd runs' range widened by its width (at least 0.02,
    // the TV of 8000 exact samples is ~0.01); a wrong sign or no learning stays near 0.48
    const double spread = std::max(0.02, *hi - *lo);
    for (double tv : tv_th) CHECK(tv < *hi + spread);
    CHECK(std::abs(mean_th - mean_ag) < spread);
    CHECK(mean_th < 0.15);
}
