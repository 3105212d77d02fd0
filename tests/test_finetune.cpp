// Fine-tuning against the closed-form ladder (rungs L1, L3, L6, L7): the lean
// adjoint of v = 0, the agreement of lean / full / BPTT adjoints at u = 0,
// basic-AM == BPTT parameter gradients, and the 1-D Gaussian tilt.
// Design: docs/design.md#the-ladder-of-closed-form-checks
#include <doctest/doctest.h>

#include <cmath>

#include "finetune/evaluation.hpp"
#include "finetune/tilt.hpp"
#include "finetune/trainer.hpp"
#include "flow/exact_fields.hpp"
#include "flow/flow_matching.hpp"
#include "flow/path.hpp"

using namespace am;
using namespace am::finetune;
using ag::Var;

namespace {

// v = 0 in d dimensions (ladder L3).
struct ZeroVelocity : flow::VelocityField {
    Index d;
    explicit ZeroVelocity(Index dim) : d(dim) {}
    Index dim() const override { return d; }
    Mat<float> velocity(const Mat<float>& x, float) const override { return zeros<float>(rows(x), d); }
    Mat<float> vjp(const Mat<float>& x, float, const Mat<float>&, Mat<float>* v) const override {
        if (v) *v = zeros<float>(rows(x), d);
        return zeros<float>(rows(x), d);
    }
};

flow::StepGrid memoryless_grid(int K, const std::string& scheme) {
    flow::CondOT condot;
    return flow::make_step_grid(condot, flow::parse_noise("memoryless"), K, flow::parse_scheme(scheme));
}

double max_abs_diff(const Mat<float>& a, const Mat<float>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a.data()[i] - b.data()[i])));
    return m;
}
double max_abs(const Mat<float>& a) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a.data()[i])));
    return m;
}

}  // namespace

TEST_CASE("finetune: rewards and their gradients") {
    auto lin = make_reward("linear:1,-2", 2);
    auto quad = make_reward("quadratic:1,0,0.5", 2);
    const Mat<float> x{{3.0f, 1.0f}, {0.0f, 0.0f}};
    CHECK(lin->value(x)(0, 0) == doctest::Approx(1.0));
    CHECK(lin->grad(x)(1, 1) == doctest::Approx(-2.0));
    // -||x - a||^2 / (2 tau^2) = -(4 + 1) / 0.5 = -10 ; gradient -(x - a) / tau^2 = (-8, -4)
    CHECK(quad->value(x)(0, 0) == doctest::Approx(-10.0));
    CHECK(quad->grad(x)(0, 0) == doctest::Approx(-8.0));
    CHECK(quad->grad(x)(0, 1) == doctest::Approx(-4.0));
    CHECK_THROWS_WITH_AS(make_reward("linear:1", 2), doctest::Contains("needs 2"), Error);
    CHECK_THROWS_WITH_AS(make_reward("cubic:1,2", 2), doctest::Contains("unknown kind"), Error);
    CHECK_THROWS_WITH_AS(make_reward("quadratic:1,x,1", 2), doctest::Contains("not a number"), Error);
    CHECK_THROWS_WITH_AS(make_reward("quadratic:1,1,-1", 2), doctest::Contains("tau"), Error);
}

TEST_CASE("finetune: ladder L3, v = 0 gives the lean adjoint a(t_k) = t_k a(1) on the grid") {
    ZeroVelocity zero(2);
    for (const std::string scheme : {"exact", "offset", "paper"}) {
        CAPTURE(scheme);
        const int K = 20;
        const auto grid = memoryless_grid(K, scheme);
        std::vector<Mat<float>> traj(K + 1, Rng(1).normal<float>(4, 2));
        const Mat<float> aK = Rng(2).normal<float>(4, 2);
        const Adjoint adj = lean_adjoint(zero, grid, traj, aK);
        for (int k = 0; k <= K; ++k) {
            CAPTURE(k);
            const double tk = double(k) / K;
            CHECK(max_abs_diff(adj.a[k], Mat<float>(aK * float(tk))) < 1e-6);
        }
    }
}

TEST_CASE("finetune: a fine-tuned model and a classifier reward refuse a base that is not frozen") {
    Rng rng(2);
    nn::VelocityMLP<float> base_net(2, 8, 2, rng);
    const flow::NetworkVelocity base(base_net);
    CHECK_THROWS_WITH_AS(CopyOfNetwork{base}, doctest::Contains("freeze it where it is built"), Error);
    CHECK_THROWS_WITH_AS(ResidualNetwork(base, 4, 1, rng), doctest::Contains("base network is trainable"), Error);
    nn::freeze(base_net);
    CHECK(nn::is_frozen(base_net.parameters()));
    const CopyOfNetwork ft(base);
    CHECK(!nn::is_frozen(ft.parameters()));  // the copy is what trains
    nn::MLP<float> classifier({2, 4, 3}, nn::Activation::SiLU, rng);
    CHECK_THROWS_WITH_AS(ClassifierReward(classifier, 1), doctest::Contains("classifier is trainable"), Error);
    nn::freeze(classifier);
    CHECK(ClassifierReward(classifier, 1).dim() == 2);
}

TEST_CASE("finetune: ladder L6, with v_ft = v_base the lean, full and BPTT adjoints agree") {
    Rng rng(3);
    nn::VelocityMLP<float> base_net(2, 16, 2, rng);
    nn::freeze(base_net);
    flow::NetworkVelocity base(base_net);
    CopyOfNetwork ft(base);  // equal to the base
    LinearReward reward({1.0f, -0.5f});
    const double lambda = 0.7;
    for (const std::string scheme : {"exact", "offset"}) {
        CAPTURE(scheme);
        const int K = 12;
        const auto grid = memoryless_grid(K, scheme);
        const Mat<float> x0 = rng.normal<float>(6, 2);
        std::vector<Mat<float>> eps;
        for (int k = 0; k < K; ++k) eps.push_back(rng.normal<float>(6, 2));
        // BPTT: dL/dX_k through the sampler on the tape (L is a mean over the 6
        // trajectories, the adjoints are per trajectory: scale by 6).
        std::vector<Var<float>> states;
        Var<float> L = bptt_loss(ft, grid, x0, eps, reward, lambda, &states);
        auto g = ag::grad(L, states);
        std::vector<Mat<float>> traj;
        for (auto& s : states) traj.push_back(s.value());
        const Mat<float> aK = terminal_adjoint(reward, lambda, traj.back());
        const Adjoint lean = lean_adjoint(base, grid, traj, aK);
        const Adjoint full = full_adjoint(ft, grid, traj, aK);
        for (int k = 0; k <= K; ++k) {
            CAPTURE(k);
            const Mat<float> bptt = g[k] * 6.0f;
            const double scale = std::max(1.0, max_abs(bptt));
            CHECK(max_abs_diff(lean.a[k], bptt) / scale < 2e-5);
            CHECK(max_abs_diff(full.a[k], bptt) / scale < 2e-5);
        }
    }
}

TEST_CASE("finetune: ladder L6, basic adjoint matching has the BPTT parameter gradient") {
    Rng rng(4);
    nn::VelocityMLP<float> base_net(2, 16, 2, rng);
    nn::freeze(base_net);
    flow::NetworkVelocity base(base_net);
    CopyOfNetwork ft(base);
    // move the fine-tuned model away from the base
    for (auto p : ft.parameters())
        for (auto& v : p.value()) v += 0.05f * float(rng.normal());
    QuadraticReward reward({1.0f, 2.0f}, 1.5f);
    const double lambda = 1.3;
    const int K = 10;
    const auto grid = memoryless_grid(K, "exact");
    const Mat<float> x0 = rng.normal<float>(8, 2);
    std::vector<Mat<float>> eps;
    for (int k = 0; k < K; ++k) eps.push_back(rng.normal<float>(8, 2));

    std::vector<Var<float>> states;
    Var<float> L = bptt_loss(ft, grid, x0, eps, reward, lambda, &states);
    const auto g_bptt = ag::grad(L, ft.parameters());

    std::vector<Mat<float>> traj;
    for (auto& s : states) traj.push_back(s.value());
    const Adjoint full = full_adjoint(ft, grid, traj, terminal_adjoint(reward, lambda, traj.back()));
    std::vector<int> all;
    for (int k = 0; k < K; ++k) all.push_back(k);
    Var<float> am_loss = adjoint_matching_loss(ft, grid, traj, full, all, 0.0);
    const auto g_am = ag::grad(am_loss, ft.parameters());

    double worst = 0, largest = 0;
    for (std::size_t i = 0; i < g_am.size(); ++i) {
        worst = std::max(worst, max_abs_diff(g_am[i], g_bptt[i]));
        largest = std::max(largest, max_abs(g_bptt[i]));
    }
    CHECK(largest > 1e-3);  // a real gradient, not two zeros
    CHECK(worst / largest < 1e-4);

    // The lean adjoint is NOT the exact adjoint when v_ft != v_base: its
    // gradient differs (this is the approximation adjoint matching makes,
    // exact only at the optimum).
    const Adjoint lean = lean_adjoint(base, grid, traj, terminal_adjoint(reward, lambda, traj.back()));
    const auto g_lean = ag::grad(adjoint_matching_loss(ft, grid, traj, lean, all, 0.0), ft.parameters());
    double diff = 0;
    for (std::size_t i = 0; i < g_lean.size(); ++i) diff = std::max(diff, max_abs_diff(g_lean[i], g_bptt[i]));
    CHECK(diff / largest > 1e-3);
}

TEST_CASE("finetune: loss-step choices") {
    Rng rng(5);
    auto all = LossSteps::parse("all").choose(40, rng);
    CHECK(all.size() == 40);
    auto paper = LossSteps::parse("paper").choose(40, rng);
    REQUIRE(paper.size() == 20);
    for (int k = 30; k < 40; ++k) CHECK(std::count(paper.begin(), paper.end(), k) == 1);
    for (int i = 0; i < 10; ++i) CHECK(paper[i] < 30);
    CHECK(std::adjacent_find(paper.begin(), paper.end()) == paper.end());  // distinct
    auto last = LossSteps::parse("last:5").choose(40, rng);
    CHECK(last == std::vector<int>{35, 36, 37, 38, 39});
    CHECK_THROWS_AS(LossSteps::parse("last:0"), Error);
    CHECK_THROWS_AS(LossSteps::parse("some"), Error);
}

namespace {

// Ladder L1: base N(m, s^2) with its exact velocity, reward -(x - c)^2 / 2
// (tau = 1) times lambda; the tilt is N(mean*, var*) with precision
// 1/s^2 + lambda. Fine-tune an affine-in-x control per step by adjoint
// matching, then sample it. Returns (mean, variance) of 200k samples.
std::pair<double, double> tilt_1d(const std::string& noise, bool flip_sign, int K, int iters) {
    const double m = 1.0, s = 0.5, lambda = 1.0, c = -1.0;
    flow::GaussianVelocity1D base(m, s);
    flow::CondOT condot;
    const auto grid = flow::make_step_grid(condot, flow::parse_noise(noise), K, flow::parse_scheme("exact"));
    std::vector<double> times;
    for (const auto& st : grid) times.push_back(st.t0);
    StepAffine ft(base, times);
    QuadraticReward reward({float(c)}, 1.0f);
    nn::Adam<float> adam(ft.parameters(), nn::AdamConfig{3e-2});
    Rng rng(11);
    std::vector<int> all;
    for (int k = 0; k < K; ++k) all.push_back(k);
    for (int it = 0; it < iters; ++it) {
        std::vector<Mat<float>> traj;
        {
            ag::NoGrad no_tape;
            flow::sample_sde(ft, grid, rng.normal<float>(256, 1), rng, &traj);
        }
        Adjoint adj = lean_adjoint(base, grid, traj, terminal_adjoint(reward, lambda, traj.back()));
        if (flip_sign)
            for (auto& a : adj.a) a *= -1.0f;
        Var<float> loss = adjoint_matching_loss(ft, grid, traj, adj, all, 0.0);
        adam.zero_grad();
        ag::backward(loss);
        adam.step();
    }
    ag::NoGrad no_tape;
    const Mat<float> x = flow::sample_sde(ft, grid, rng.normal<float>(200000, 1), rng);
    const double mean = xt::mean(xt::cast<double>(x))();
    const double var = xt::mean(xt::square(xt::cast<double>(x) - mean))();
    return {mean, var};
}

}  // namespace

TEST_CASE("finetune: ladder L1, adjoint matching reaches the 1-D Gaussian tilt (memoryless only) [slow]") {
    // target: precision 1/0.25 + 1 = 5, variance 0.2, mean (1 * 4 + 1 * (-1)) / 5 = 0.6
    const double target_mean = 0.6, target_var = 0.2;
    const int K = 200;
    const auto [mean, var] = tilt_1d("memoryless", false, K, 300);
    MESSAGE("memoryless: mean " << mean << " var " << var << " (target 0.6, 0.2)");
    // The exact-linear-part scheme at K = 200 is itself ~1.5% low on the variance
    // (docs/design.md#schemes: 0.246 for 0.250); 200k samples give standard
    // errors of 0.001 (mean) and 0.0006 (variance); the rest is optimisation error.
    CHECK(std::abs(mean - target_mean) < 0.03);
    CHECK(std::abs(var - target_var) < 0.015);

    // a constant sigma solves the same regression but does not land on the tilt
    const auto [mean_c, var_c] = tilt_1d("constant:0.5", false, K, 300);
    MESSAGE("constant sigma 0.5: mean " << mean_c << " var " << var_c);
    CHECK(std::abs(mean_c - target_mean) > 0.1);

    // a flipped residual sign pushes the mean the wrong way (above the base mean 1)
    const auto [mean_f, var_f] = tilt_1d("memoryless", true, K, 100);
    MESSAGE("flipped sign: mean " << mean_f << " var " << var_f);
    CHECK(mean_f > 1.1);
}

TEST_CASE("finetune: exact tilts of a mixture") {
    // one isotropic component: the linear tilt shifts the mean by lambda S c
    auto mix = data::GaussianMixture::isotropic({1.0}, Mat<double>{{1.0, 2.0}}, {0.5});
    mix.validate();
    auto t = tilt_linear(mix, {1.0, 0.0}, 2.0);
    CHECK(t.means(0, 0) == doctest::Approx(1.0 + 2.0 * 0.25));
    CHECK(t.means(0, 1) == doctest::Approx(2.0));
    // quadratic: precision 4 + lambda / tau^2 = 4 + 1 = 5 per axis
    auto q = tilt_quadratic(mix, {0.0, 0.0}, 1.0, 1.0);
    CHECK(q.covs[0](0, 0) == doctest::Approx(0.2));
    CHECK(q.means(0, 0) == doctest::Approx(4.0 / 5.0));
    // the ring with c = (1, 0), lambda = 0.5: weights ∝ exp(0.5 * 4 cos(theta_k))
    auto ring = data::default_ring();
    auto tr = tilt_linear(ring, {1.0, 0.0}, 0.5);
    double z = 0;
    for (int k = 0; k < 8; ++k) z += std::exp(2.0 * std::cos(k * M_PI / 4));
    for (int k = 0; k < 8; ++k) {
        const double angle = std::atan2(ring.means(k, 1), ring.means(k, 0));
        CHECK(tr.weights[k] == doctest::Approx(std::exp(2.0 * std::cos(angle)) / z).epsilon(1e-9));
    }
    // closed-form expected reward matches a Monte Carlo estimate
    LinearReward lin({1.0f, 0.0f});
    Rng rng(6);
    const Mat<float> xs = tr.sample(200000, rng);
    CHECK(xt::mean(lin.value(xs))() == doctest::Approx(expected_reward(tr, lin)).epsilon(0.02));
    // evaluation of exact samples: TV near 0
    const auto ev = evaluate(xs, tr, &lin);
    CHECK(ev.tv < 0.01);
    CHECK(ev.max_mean_error < 0.02);
}

TEST_CASE("finetune: ladder L7 (quick), a trained 2-D base lands on the tilt only when memoryless [slow]") {
    // A small network trained briefly on the ring, fine-tuned toward r = x_0
    // with lambda = 0.5. The base is uniform over the 8 modes, the target is
    // not: its mode-weight TV to the target is 0.48. Adjoint matching under the
    // memoryless schedule closes most of that gap; under a constant sigma the
    // same regression converges to the wrong weights.
    Rng rng(21);
    const auto ring = data::default_ring();
    nn::VelocityMLP<float> net(2, 64, 2, rng);
    flow::FlowMatchingConfig fm;
    fm.steps = 1500;
    fm.batch = 256;
    fm.adam.lr = 3e-3;
    fm.progress_seconds = 0;
    const flow::CondOT path;
    flow::train_flow_matching(net, path, [&](Index n, Rng& r) { return ring.sample(n, r); }, fm, rng);
    nn::freeze(net);
    flow::NetworkVelocity base(net);
    LinearReward reward({1.0f, 0.0f});
    const auto target = exact_tilt(ring, reward, 0.5);

    // Fine-tuned and sampled on the same grid (K = 20, exact scheme): a model
    // fine-tuned at K steps partly compensates the K-step sampler's error.
    const auto sample_grid = flow::make_step_grid(path, flow::parse_noise("memoryless"), 20, flow::Scheme::Exact);
    auto tv_after = [&](const std::string& noise) {
        CopyOfNetwork ft(base);
        FineTuneConfig cfg;
        cfg.lambda = 0.5;
        cfg.batch = 256;
        cfg.adam = nn::AdamConfig{1e-3};
        FineTuner tuner(ft, reward, flow::make_step_grid(path, flow::parse_noise(noise), 20, flow::Scheme::Exact), cfg, 5);
        for (int i = 0; i < 250; ++i) tuner.iterate();
        ag::NoGrad no_tape;
        Rng srng(6);
        const Mat<float> x = flow::sample_sde(ft, sample_grid, srng.normal<float>(8000, 2), srng);
        return evaluate(x, target, &reward).tv;
    };
    const double tv_memoryless = tv_after("memoryless");
    const double tv_constant = tv_after("constant:0.5");
    MESSAGE("mode-weight TV to the exact tilt: memoryless " << tv_memoryless << ", constant sigma " << tv_constant);
    // 8000 samples: the TV of exact samples is ~0.01; the small, briefly
    // trained network, K = 20 and 250 iterations leave more (measured with
    // these seeds: memoryless 0.067, constant 0.41; the full-quality run of
    // README.md reaches 0.03). A wrong sign or a missing memoryless schedule
    // leaves TV near 0.3-0.5 (the base itself is at 0.48).
    CHECK(tv_memoryless < 0.1);
    CHECK(tv_constant > 0.25);
}

TEST_CASE("finetune: the cosine learning-rate schedule and the relative gradient-norm clip") {
    const auto ring = data::default_ring();
    flow::MixtureVelocity base(ring);
    LinearReward reward({1.0f, 0.0f});
    const flow::CondOT path;
    const auto grid = flow::make_step_grid(path, flow::parse_noise("memoryless"), 10, flow::Scheme::Exact);
    auto run = [&](double lr_final, double clip_relative) {
        Rng rng(3);
        ResidualNetwork ft(base, 16, 2, rng);
        FineTuneConfig cfg;
        cfg.lambda = 0.5;
        cfg.batch = 16;
        cfg.adam = nn::AdamConfig{1e-3};
        cfg.iters = 5;
        cfg.lr_final_fraction = lr_final;
        cfg.clip_relative = clip_relative;
        FineTuner tuner(ft, reward, grid, cfg, 4);
        std::vector<IterationStats> st;
        for (int i = 0; i < 5; ++i) st.push_back(tuner.iterate());
        return st;
    };
    // lr_i = lr (f + (1 - f) (1 + cos(pi (i - 1) / 4)) / 2): 1e-3 at the first, 1e-4 at the last
    const auto cosine = run(0.1, 0);
    CHECK(cosine[0].lr == doctest::Approx(1e-3));
    CHECK(cosine[2].lr == doctest::Approx(1e-3 * (0.1 + 0.9 * 0.5)));
    CHECK(cosine[4].lr == doctest::Approx(1e-4));
    for (const auto& s : cosine) CHECK(!s.norm_clipped);
    // lr_final 1: constant
    CHECK(run(1, 0)[4].lr == doctest::Approx(1e-3));
    // a clip at 1% of the running average clips every iteration after the first
    const auto clipped = run(1, 0.01);
    CHECK(!clipped[0].norm_clipped);
    for (int i = 1; i < 5; ++i) CHECK(clipped[i].norm_clipped);
    FineTuneConfig bad;
    bad.lr_final_fraction = 0;
    Rng rng(3);
    ResidualNetwork ft(base, 16, 2, rng);
    CHECK_THROWS_AS(FineTuner(ft, reward, grid, bad, 1), Error);
}

TEST_CASE("finetune: the loss weighting scales each step's gradient and leaves its minimiser unchanged") {
    // A per-step affine control (one (A_k, B_k) per step): the gradient of
    // step k's rows under a weighting must be loss_weight(step k) times the
    // paper's, row by row, so that every step's minimiser is the same.
    flow::GaussianVelocity1D base(1.0, 0.5);
    const int K = 10;
    const auto grid = memoryless_grid(K, "exact");
    std::vector<double> times;
    for (const auto& st : grid) times.push_back(st.t0);
    StepAffine ft(base, times);
    Rng rng(17);
    for (auto p : ft.parameters())
        for (auto& v : p.value()) v = 0.3f * float(rng.normal());
    QuadraticReward reward({-1.0f}, 1.0f);
    std::vector<Mat<float>> traj;
    {
        ag::NoGrad no_tape;
        flow::sample_sde(ft, grid, rng.normal<float>(64, 1), rng, &traj);
    }
    const Adjoint adj = lean_adjoint(base, grid, traj, terminal_adjoint(reward, 1.0, traj.back()));
    std::vector<int> all;
    for (int k = 0; k < K; ++k) all.push_back(k);
    const auto g_paper = ag::grad(adjoint_matching_loss(ft, grid, traj, adj, all, 0.0), ft.parameters());
    for (LossWeighting w : {LossWeighting::Velocity, LossWeighting::Sqrt}) {
        CAPTURE(loss_weighting_name(w));
        const auto g = ag::grad(adjoint_matching_loss(ft, grid, traj, adj, all, 0.0, nullptr, w), ft.parameters());
        for (std::size_t p = 0; p < g.size(); ++p)
            for (int k = 0; k < K; ++k) {
                const double wk = loss_weight(grid[k], w);
                CHECK(std::abs(g[p](k, 0) - wk * g_paper[p](k, 0)) <= 1e-4 * std::abs(wk * g_paper[p](k, 0)) + 1e-7);
            }
    }
    // velocity: h s^2 / d^2, so each term is h ||delta + (s^2 / d) a_{k+1}||^2 / 2;
    // the weights span orders of magnitude along t (paper: ~ t / (1 - t))
    const int k = 3;
    const auto& st = grid[k];
    const double h = st.t1 - st.t0;
    CHECK(loss_weight(st, LossWeighting::Velocity) == doctest::Approx(h * st.s * st.s / (st.d * st.d)));
    CHECK(loss_weight(st, LossWeighting::Sqrt) == doctest::Approx(std::sqrt(h * st.s * st.s / (st.d * st.d))));
    CHECK(loss_weight(st, LossWeighting::Paper) == 1.0);
    CHECK(loss_weight(grid[1], LossWeighting::Velocity) / loss_weight(grid[K - 1], LossWeighting::Velocity) > 50);
    {
        const Mat<float> d_k = ft.delta(traj[k], full<float>(64, 1, float(st.t0)), traj[k]).value();
        double manual = 0;
        for (Index b = 0; b < 64; ++b) {
            const double r = d_k(b, 0) + st.s * st.s / st.d * adj.a[k + 1](b, 0);
            manual += h * r * r / 2;
        }
        const double got = adjoint_matching_loss(ft, grid, traj, adj, {k}, 0.0, nullptr, LossWeighting::Velocity).item();
        CHECK(got == doctest::Approx(manual / 64).epsilon(1e-4));
    }
    CHECK(parse_loss_weighting("velocity") == LossWeighting::Velocity);
    CHECK_THROWS_AS(parse_loss_weighting("uniform"), Error);
}

TEST_CASE("finetune: the bootstrapped lean adjoint blends the model's estimate of E[a_{k+1} | X_k] into the recursion") {
    // a_k = M_k^T ((1 - w) a_{k+1} + w g_k), g_k = -(d_k / s_k^2) delta_k(X_k),
    // M_k^T v = c_k v + d_k J_base^T v, on the steps with t_k < t_max but the last.
    flow::GaussianVelocity1D base(1.0, 0.5);
    const int K = 8;
    const auto grid = memoryless_grid(K, "exact");
    std::vector<double> times;
    for (const auto& st : grid) times.push_back(st.t0);
    StepAffine ft(base, times);
    Rng rng(23);
    for (auto p : ft.parameters())
        for (auto& v : p.value()) v = 0.5f * float(rng.normal());
    QuadraticReward reward({-1.0f}, 1.0f);
    std::vector<Mat<float>> traj;
    {
        ag::NoGrad no_tape;
        flow::sample_sde(ft, grid, rng.normal<float>(16, 1), rng, &traj);
    }
    const Mat<float> aK = terminal_adjoint(reward, 1.0, traj.back());
    const Adjoint lean = lean_adjoint(base, grid, traj, aK);
    const Adjoint off = bootstrapped_lean_adjoint(ft, grid, traj, aK, Bootstrap{});
    for (int k = 0; k <= K; ++k) CHECK(max_abs_diff(off.a[k], lean.a[k]) == 0);

    const Bootstrap b = Bootstrap::parse("0.3:0.6");
    CHECK(b.weight == 0.3);
    CHECK(b.t_max == 0.6);
    const Adjoint boot = bootstrapped_lean_adjoint(ft, grid, traj, aK, b);
    Mat<float> a = aK;
    for (int k = K - 1; k >= 0; --k) {
        const auto& st = grid[k];
        Mat<float> v = a;
        if (k + 1 < K && st.t0 < 0.6) {
            const Mat<float> delta = ft.velocity(traj[k], float(st.t0)) - base.velocity(traj[k], float(st.t0));
            v = a * float(0.7) + delta * float(-0.3 * st.d / (st.s * st.s));
        }
        a = v * float(st.c) + base.vjp(traj[k], float(st.t0), v) * float(st.d);
        CAPTURE(k);
        CHECK(max_abs_diff(boot.a[k], a) <= 1e-5 * (1 + max_abs(a)));
        // the steps at and after t_max propagate the sampled adjoint alone
        if (st.t0 >= 0.6) CHECK(max_abs_diff(boot.a[k], lean.a[k]) == 0);
    }
    CHECK(max_abs_diff(boot.a[0], lean.a[0]) > 1e-3);
    CHECK(Bootstrap::parse("off").weight == 0);
    CHECK(Bootstrap::parse("1:1:500").from_iteration == 500);
    CHECK_THROWS_AS(Bootstrap::parse("1.5"), Error);
    CHECK_THROWS_AS(Bootstrap::parse("0.5:0"), Error);
    CHECK_THROWS_AS(Bootstrap::parse("0.5:1:-2"), Error);
    CHECK_THROWS_AS(Bootstrap::parse("half"), Error);
}
