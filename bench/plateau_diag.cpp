// plateau-diag: the measurements of docs/design.md#the-exact-base-plateau.
// Adjoint matching of a family case (finetune::family_case) with the exact
// mixture base, a residual MLP, K steps of the exact scheme; at the listed
// iterations: the mode-weight TV of 4000 memoryless samples to the exact tilt
// and (DETAIL = 1) the per-step error of the learned delta against the exact
// optimum delta* = v_tilt - v_base along 1000 on-policy trajectories, with its
// path-KL share (d_k^2 / 2 s_k^2) E||delta - delta*||^2.
//
//   make build/plateau-diag
//   build/plateau-diag SEED INDEX ITERS BATCH LR LR_FINAL WEIGHTING EVALS WIDTH DEPTH K [SCHEDULE] [TRAIN_SEED] [DETAIL]
//
//   INDEX -1       the ring case
//   ITERS 0        floors: the exact base and the exact tilted field through the
//                  memoryless sampler at K, and exact samples, against their laws
//   ITERS -1       the lean adjoint along base trajectories: per step, the size of
//                  the regression target (s_k^2 / d_k) ||a_{k+1}|| (median, 99th
//                  percentile, max) and the share of its second moment carried by
//                  the largest 1%, beside rms ||delta*||; env BASE_CKPT=file: the same
//                  along a network base (a VelocityMLP checkpoint)
//   WEIGHTING      paper | velocity | sqrt (finetune::LossWeighting), or sup-paper,
//                  sup-velocity: the same network, steps, weights and optimiser
//                  regressed onto the exact delta* (no adjoint: no target noise)
//   LR_FINAL       cosine decay to this fraction of LR (1: constant)
//   env EMA=b      also evaluate an exponential average of the weights; CLIPREL=c
//                  the relative gradient-norm clip; BETA2 Adam's beta2; BOOTSTRAP=w[:tmax]
//                  the bootstrapped lean adjoint (finetune::Bootstrap)
//   env BASE_CKPT=file (ITERS > 0): a network base (a VelocityMLP checkpoint, e.g. amflow study's
//                  OUT/bases/CASE.ckpt); MODEL=copy fine-tunes a copy of it, otherwise base +
//                  a zero-started residual MLP(WIDTH, DEPTH); MODEL=delta-copy keeps the exact
//                  base and fine-tunes net_theta - net_0 (net_0 the checkpoint's network, frozen);
//                  MODEL=features (no checkpoint): a residual that also sees v_base(x, t)
//
// An experiment tool, single-threaded in spirit: run it with OMP_NUM_THREADS=1.
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <sstream>
#include <chrono>
#include <algorithm>
#include "finetune/family.hpp"
#include "finetune/trainer.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/tilt.hpp"
#include "flow/exact_fields.hpp"
#include "flow/network_field.hpp"
#include "nn/checkpoint.hpp"
#include <memory>
#include "flow/sampler.hpp"
#include "flow/path.hpp"
#include "nn/optim.hpp"
using namespace am;
using namespace am::finetune;

// MODEL=features: v_ft = v_base + res(x, v_base(x, t), t), the residual MLP also sees the base's
// velocity (zero-started last layer); the loss passes v_base in, so it costs no extra base forward
struct FeatureResidual : FineTunedModel {
    nn::MLP<float> res;
    FeatureResidual(const flow::VelocityField& b, Index width, Index depth, Rng& rng) : FineTunedModel(b) {
        std::vector<Index> sizes{2 * b.dim() + 1};
        for (Index i = 0; i < depth; ++i) sizes.push_back(width);
        sizes.push_back(b.dim());
        res = nn::MLP<float>(sizes, nn::Activation::SiLU, rng);
        auto ps = res.parameters();
        ps[ps.size() - 2].value().fill(0.0f);
        ps[ps.size() - 1].value().fill(0.0f);
    }
    Var<float> forward(const Var<float>& x, float t) const override {
        Var<float> vb = base_.forward(x, t);
        return vb + res.forward(ag::concat_cols<float>({x, vb, Var<float>(full<float>(x.rows(), 1, t))}));
    }
    Var<float> delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>& vb) const override {
        return res.forward(ag::concat_cols<float>({Var<float>(x), Var<float>(vb), Var<float>(t)}));
    }
    std::vector<Var<float>> parameters() const override { return res.parameters(); }
};

// MODEL=delta-copy (with BASE_CKPT): v_ft = v_base + net_theta(x, t) - net_0(x, t), the base stays
// the exact field and the residual starts at zero with the features of a network pretrained on
// the mixture (net_0 frozen, net_theta its trainable copy)
struct DeltaCopy : FineTunedModel {
    nn::VelocityMLP<float> frozen, net;
    DeltaCopy(const flow::VelocityField& b, const nn::VelocityMLP<float>& pre) : FineTunedModel(b), frozen(pre.clone()), net(pre.clone()) {
        nn::freeze(frozen);
    }
    Var<float> forward(const Var<float>& x, float t) const override {
        Var<float> tt(full<float>(x.rows(), 1, t));
        return base_.forward(x, t) + net.forward(x, tt) - frozen.forward(x, tt);
    }
    Var<float> delta(const Mat<float>& x, const Mat<float>& t, const Mat<float>&) const override {
        Var<float> xv(x), tv(t);
        return net.forward(xv, tv) - frozen.forward(xv, tv);
    }
    std::vector<Var<float>> parameters() const override { return net.parameters(); }
};

static std::vector<long> parse_list(const std::string& s) {
    std::vector<long> v; std::stringstream ss(s); std::string x;
    while (std::getline(ss, x, ',')) v.push_back(std::atol(x.c_str()));
    return v;
}

int main(int argc, char** argv) {
    if (argc < 12) { std::fprintf(stderr, "diag SEED INDEX ITERS BATCH LR LRFINAL WEIGHTING EVALS WIDTH DEPTH K [SCHEDULE] [TRAINSEED] [DETAIL]\n"); return 2; }
    const std::uint64_t fseed = std::atoll(argv[1]);
    const int index = std::atoi(argv[2]);
    const long iters = std::atol(argv[3]);
    const Index batch = std::atol(argv[4]);
    const double lr = std::atof(argv[5]), lrf = std::atof(argv[6]);
    std::string wname = argv[7];
    const bool sup = wname.rfind("sup-", 0) == 0;  // supervised: regress delta* exactly, same steps/weights
    if (sup) wname = wname.substr(4);
    const LossWeighting w = parse_loss_weighting(wname);
    const auto evals = parse_list(argv[8]);
    const Index width = std::atol(argv[9]), depth = std::atol(argv[10]);
    const int K = std::atoi(argv[11]);
    const std::string schedule = argc > 12 ? argv[12] : "memoryless";
    const std::uint64_t tseed = argc > 13 ? std::atoll(argv[13]) : 0;
    const bool detail = argc > 14 && std::atoi(argv[14]);
    FamilyCase c = index >= 0 ? family_case(fseed, index) : ring_case();
    auto reward = c.make_reward();
    const auto target = c.target();
    flow::MixtureVelocity base(c.mixture), tilt(target);
    const flow::CondOT path;
    const auto grid = flow::make_step_grid(path, flow::parse_noise(schedule), K, flow::Scheme::Exact);
    const auto mgrid = flow::make_step_grid(path, flow::parse_noise("memoryless"), K, flow::Scheme::Exact);
    std::printf("case %s reward %s lambda %g modes %ld base_tv %.3f weighting %s schedule %s\n", c.name.c_str(), c.reward.c_str(),
                c.lambda, long(c.mixture.size()), base_to_target_tv(c), loss_weighting_name(w).c_str(), schedule.c_str());
    if (iters < 0) {  // lean-adjoint statistics along base trajectories (delta = 0)
        // BASE_CKPT=file: a network base (a VelocityMLP checkpoint, e.g. amflow study's OUT/bases/CASE.ckpt)
        // instead of the exact mixture field; rms|d*| stays that of the exact base
        std::unique_ptr<nn::VelocityMLP<float>> net;  // NetworkVelocity keeps a reference to it
        std::unique_ptr<flow::NetworkVelocity> net_base;
        if (std::getenv("BASE_CKPT")) {
            net = std::make_unique<nn::VelocityMLP<float>>(
                nn::velocity_mlp_from_checkpoint<float>(nn::load_checkpoint(std::getenv("BASE_CKPT"))));
        nn::freeze(*base_net);
            net_base = std::make_unique<flow::NetworkVelocity>(*net);
        }
        const flow::VelocityField& field = net_base ? static_cast<const flow::VelocityField&>(*net_base) : base;
        if (net_base) std::printf("base: the network of %s\n", std::getenv("BASE_CKPT"));
        Rng tr(7);
        std::vector<Mat<float>> traj;
        flow::sample_sde(field, mgrid, tr.normal<float>(4000, 2), tr, &traj);
        const Mat<float> aK = terminal_adjoint(*reward, c.lambda, traj.back());
        const Adjoint adj = lean_adjoint(field, mgrid, traj, aK);
        std::printf("  k   t      target (s^2/d)|a_{k+1}|: median  p99  max | share of sum of squares from the top 1%% | rms|d*|\n");
        for (int k = 0; k < K; k += 3) {
            const auto& sk = mgrid[k];
            std::vector<double> v;
            for (Index b = 0; b < 4000; ++b) v.push_back(sk.s * sk.s / sk.d * std::hypot(adj.a[k + 1](b, 0), adj.a[k + 1](b, 1)));
            const Mat<float> dstar = tilt.velocity(traj[k], float(sk.t0)) - base.velocity(traj[k], float(sk.t0));
            double s2 = 0; for (Index b = 0; b < 4000; ++b) s2 += dstar(b, 0) * dstar(b, 0) + dstar(b, 1) * dstar(b, 1);
            std::vector<double> sq; double tot = 0; for (double x : v) sq.push_back(x * x), tot += x * x;
            std::sort(sq.begin(), sq.end()); double top = 0; for (int i = 0; i < 40; ++i) top += sq[sq.size() - 1 - i];
            std::sort(v.begin(), v.end());
            std::printf("  %2d %.3f  %10.3g %10.3g %10.3g   %.3f   %.3f\n", k, sk.t0, v[2000], v[3960], v.back(), top / tot, std::sqrt(s2 / 4000));
        }
        return 0;
    }
    if (iters == 0) {  // floors
        for (Index n : {Index(4000), Index(20000)}) {
            Rng r1(11), r2(12), r3(13);
            flow::SamplerSettings s; s.K = K; s.noise = flow::parse_noise("memoryless"); s.scheme = flow::Scheme::Exact;
            Mat<float> xb = flow::draw_samples(base, path, s, n, r1);
            Mat<float> xt_ = flow::draw_samples(tilt, path, s, n, r2);
            Mat<float> xe = target.sample(n, r3);
            const auto eb = evaluate(xb, c.mixture, nullptr), et = evaluate(xt_, target, reward.get()), ee = evaluate(xe, target, reward.get());
            std::printf("floor n=%ld K=%d: base-SDE vs base TV %.4f | tilt-SDE vs tilt TV %.4f reward %.4f/%.4f | exact samples vs tilt TV %.4f\n",
                        long(n), K, eb.tv, et.tv, et.reward_mean, et.reward_exact, ee.tv);
        }
        return 0;
    }
    Rng rng(1 + tseed);
    // env BASE_CKPT=file: fine-tune from a network base instead (MODEL=copy: a trainable copy of it, as
    // amflow study's network bases; otherwise base + a zero-started residual MLP(WIDTH, DEPTH))
    std::unique_ptr<nn::VelocityMLP<float>> base_net;
    std::unique_ptr<flow::NetworkVelocity> net_field;
    if (std::getenv("BASE_CKPT")) {
        base_net = std::make_unique<nn::VelocityMLP<float>>(
            nn::velocity_mlp_from_checkpoint<float>(nn::load_checkpoint(std::getenv("BASE_CKPT"))));
        net_field = std::make_unique<flow::NetworkVelocity>(*base_net);
    }
    const bool delta_copy = std::getenv("MODEL") && std::string(std::getenv("MODEL")) == "delta-copy";
    const flow::VelocityField& train_base = net_field && !delta_copy ? static_cast<const flow::VelocityField&>(*net_field) : base;
    std::unique_ptr<FineTunedModel> ftp;
    if (delta_copy)
        ftp = std::make_unique<DeltaCopy>(base, *base_net);
    else if (net_field && std::getenv("MODEL") && std::string(std::getenv("MODEL")) == "copy")
        ftp = std::make_unique<CopyOfNetwork>(*net_field);
    else if (std::getenv("MODEL") && std::string(std::getenv("MODEL")) == "features")
        ftp = std::make_unique<FeatureResidual>(train_base, width, depth, rng);
    else
        ftp = std::make_unique<ResidualNetwork>(train_base, width, depth, rng);
    FineTunedModel& ft = *ftp;
    FineTuneConfig cfg;
    cfg.method = Method::AM; cfg.lambda = c.lambda; cfg.batch = batch;
    cfg.adam = nn::AdamConfig{lr};
    if (std::getenv("BETA2")) cfg.adam.beta2 = std::atof(std::getenv("BETA2"));
    if (std::getenv("CLIPREL")) cfg.clip_relative = std::atof(std::getenv("CLIPREL"));
    if (std::getenv("BOOTSTRAP")) cfg.bootstrap = Bootstrap::parse(std::getenv("BOOTSTRAP"));
    cfg.iters = iters; cfg.lr_final_fraction = lrf; cfg.weighting = w;
    FineTuner tuner(ft, *reward, grid, cfg, 2 + tseed);
    std::size_t next = 0;
    std::vector<double> gn_hist, loss_hist;
    const double ema_beta = std::getenv("EMA") ? std::atof(std::getenv("EMA")) : 0.0;
    std::vector<Mat<float>> ema, ema_swap;
    for (auto& p : ft.parameters()) ema.push_back(p.value());
    double tsum = 0, maxloss = 0;
    nn::Adam<float> adam(ft.parameters(), nn::AdamConfig{lr});
    Rng srng(5 + tseed);
    for (long i = 1; i <= iters; ++i) {
        IterationStats st;
        if (!sup) st = tuner.iterate();
        else {
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<Mat<float>> traj;
            { ag::NoGrad ng; flow::sample_sde(ft, grid, srng.normal<float>(batch, 2), srng, &traj); }
            const Index R = Index(K) * batch;
            Mat<float> x = Mat<float>::from_shape({std::size_t(R), 2}), tt = Mat<float>::from_shape({std::size_t(R), 1});
            Mat<float> tgt = Mat<float>::from_shape({std::size_t(R), 2}), wt = Mat<float>::from_shape({std::size_t(R), 1});
            for (int k = 0; k < K; ++k) {
                const auto& sk = grid[k];
                const Mat<float> ds = tilt.velocity(traj[k], float(sk.t0)) - base.velocity(traj[k], float(sk.t0));
                const float wk = float(sk.d * sk.d / (sk.s * sk.s) * loss_weight(sk, w));
                for (Index b = 0; b < batch; ++b) {
                    const Index r = Index(k) * batch + b;
                    tt(r, 0) = float(sk.t0); wt(r, 0) = wk;
                    for (Index j = 0; j < 2; ++j) x(r, j) = traj[k](b, j), tgt(r, j) = ds(b, j);
                }
            }
            Var<float> res = ft.delta(x, tt, x) - Var<float>(tgt);
            Var<float> loss = ag::sum(ag::sum(ag::square(res), 1) * Var<float>(wt)) * (0.5f / float(batch));
            const double lrnow = lr * (lrf + (1 - lrf) * 0.5 * (1 + std::cos(M_PI * double(i - 1) / double(std::max(1L, iters - 1)))));
            adam.config().lr = lrnow;
            adam.zero_grad(); ag::backward(loss); adam.step();
            st.loss = loss.item();
            st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        tsum += st.seconds; maxloss = std::max(maxloss, st.loss);
        gn_hist.push_back(st.grad_norm); loss_hist.push_back(st.loss);
        if (ema_beta > 0) { auto ps = ft.parameters(); for (std::size_t q = 0; q < ps.size(); ++q) ema[q] = ema[q] * float(ema_beta) + ps[q].value() * float(1 - ema_beta); }
        if (next < evals.size() && i == evals[next]) {
            ++next;
            Rng er(99);
            flow::SamplerSettings s; s.K = K; s.noise = flow::parse_noise("memoryless"); s.scheme = flow::Scheme::Exact;
            Mat<float> x = flow::draw_samples(ft, path, s, 4000, er);
            const auto ev = evaluate(x, target, reward.get());
            std::printf("iter %ld TV %.4f reward %.4f exact %.4f  (%.3f s/it, max loss so far %.3g)\n", i, ev.tv, ev.reward_mean,
                        ev.reward_exact, tsum / i, maxloss);
            if (ema_beta > 0) {
                auto ps = ft.parameters(); std::vector<Mat<float>> keep;
                for (std::size_t q = 0; q < ps.size(); ++q) { keep.push_back(ps[q].value()); ps[q].value() = ema[q]; }
                Rng er2(99);
                const auto ev2 = evaluate(flow::draw_samples(ft, path, s, 4000, er2), target, reward.get());
                std::printf("iter %ld EMA %.4f TV %.4f reward %.4f\n", i, ema_beta, ev2.tv, ev2.reward_mean);
                if (!detail) for (std::size_t q = 0; q < ps.size(); ++q) ps[q].value() = keep[q];
                else { /* detail measured with EMA weights, then restored below */ }
                if (detail) { ema_swap = std::move(keep); }
            }
            {
                std::vector<double> g = gn_hist, l = loss_hist; std::sort(g.begin(), g.end()); std::sort(l.begin(), l.end());
                const double gmed = g[g.size() / 2], lmed = l[l.size() / 2];
                int gsp = 0, lsp = 0; for (double v : gn_hist) gsp += v > 10 * gmed; for (double v : loss_hist) lsp += v > 10 * lmed;
                std::printf("  grad norm median %.3g max %.3g, >10x median: %d of %zu; loss median %.3g max %.3g, >10x median: %d\n",
                            gmed, g.back(), gsp, g.size(), lmed, l.back(), lsp);
            }
            if (!detail) { std::fflush(stdout); continue; }
            // per-step control error along on-policy (fine-tuned, memoryless) trajectories
            std::vector<Mat<float>> traj;
            Rng tr(77);
            {
                ag::NoGrad ng;
                flow::sample_sde(ft, mgrid, tr.normal<float>(1000, 2), tr, &traj);
            }
            std::printf("  k    t     rms|d*|  rms|err|  pathKL_k(d2/2s2 E|err|^2)  paperW  loss_k  gradnorm_k\n");
            // lean adjoint for the loss/grad per step
            Mat<float> r;
            const Mat<float> aK = terminal_adjoint(*reward, c.lambda, traj.back(), &r);
            const Adjoint adj = lean_adjoint(base, mgrid, traj, aK);
            double kl_tot = 0; std::vector<double> klb(4, 0);
            for (int k = 0; k < K; ++k) {
                const auto& sk = mgrid[k];
                const float t = float(sk.t0);
                Mat<float> vt = tilt.velocity(traj[k], t), vb = base.velocity(traj[k], t);
                Mat<float> dstar = vt - vb;
                Mat<float> dth;
                { ag::NoGrad ng; dth = ft.velocity(traj[k], t) - vb; }
                double s2 = 0, e2 = 0;
                for (Index b = 0; b < 1000; ++b) for (Index j = 0; j < 2; ++j) {
                    s2 += dstar(b, j) * dstar(b, j);
                    const double e = dth(b, j) - dstar(b, j); e2 += e * e;
                }
                s2 /= 1000; e2 /= 1000;
                const double kl = sk.d * sk.d / (2 * sk.s * sk.s) * e2;
                kl_tot += kl; klb[std::min(3, k * 4 / K)] += kl;
                // loss and its gradient norm of this step alone (paper weighting), B = 1000
                const auto loss = adjoint_matching_loss(ft, mgrid, traj, adj, {k}, 0.0, nullptr, w);
                const auto g = ag::grad(loss, ft.parameters());
                double gn = 0;
                for (auto& gi : g) gn += double(xt::sum(gi * gi)());
                if (k % 3 == 0 || k >= K - 3)
                    std::printf("  %2d %.3f  %8.4f  %8.4f  %10.5f  %8.4f  %9.4g  %9.4g\n", k, t, std::sqrt(s2), std::sqrt(e2), kl,
                                sk.d * sk.d / (sk.s * sk.s), loss.item(), std::sqrt(gn));
            }
            std::printf("  pathKL total %.4f  by quarter of t: %.4f %.4f %.4f %.4f\n", kl_tot, klb[0], klb[1], klb[2], klb[3]);
            std::fflush(stdout);
            if (!ema_swap.empty()) { auto ps = ft.parameters(); for (std::size_t q = 0; q < ps.size(); ++q) ps[q].value() = ema_swap[q]; ema_swap.clear(); }
        }
    }
    return 0;
}
