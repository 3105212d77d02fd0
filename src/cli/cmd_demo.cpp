// amflow demo: the whole 2-D story from nothing.
//   1. pretrain a velocity network on the default ring by flow matching;
//   2. fine-tune it toward the reward c.x, c = (1, 0), lambda = 0.5:
//      adjoint matching under the memoryless noise schedule, adjoint matching under
//      a constant sigma, and BPTT (memoryless);
//   3. sample each with the ODE and with the memoryless SDE, and compare with
//      the exact tilted mixture in a table;
//   4. a PNG panel: base, exact target, each method.
// Design: docs/design.md#command-line
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "flow/flow_matching.hpp"
#include "plot/plots.hpp"

namespace am::cli {

namespace {
struct DemoOptions {
    std::string out_dir = "out";
    long pretrain_steps = 3000, iters = 250;
    Index batch = 256, n_eval = 8000;
    int K = 40;
    double lambda = 0.5, lr = 1e-3;
    std::string path = "condot";
    std::uint64_t seed = 0;
};

struct Row {
    std::string method, noise, sampler;
    finetune::Evaluation ev, ev_net;  // against the exact tilt; against the tilt of the base's own weights
    double sec_per_iter = 0, peak_mb = 0;
};

void print_table(const std::vector<Row>& rows) {
    std::printf("\n%-10s %-14s %-11s %8s %10s %12s %12s %10s %9s %9s\n", "method", "fine-tuned", "sampler",
                "TV", "TV(base w)", "mean shift", "reward", "diversity", "s/iter", "peak MB");
    for (const auto& r : rows)
        std::printf("%-10s %-14s %-11s %8.3f %10.3f %12.3f %6.3f/%-5.3f %10.3f %9.3f %9.0f\n", r.method.c_str(),
                    r.noise.c_str(), r.sampler.c_str(), r.ev.tv, r.ev_net.tv, r.ev.max_mean_error,
                    r.ev.reward_mean, r.ev.reward_exact, r.ev.diversity, r.sec_per_iter, r.peak_mb);
    std::printf("TV: mode-weight total variation to the exact tilt; TV(base w): to the tilt of the base\n"
                "network's own mode weights; mean shift: largest distance between a mode's sample mean and\n"
                "the exact one; reward: mean r(X1) / exact E[r]; diversity: mean pairwise distance.\n");
}

void run_demo(const DemoOptions& o) {
    require_positive(o.pretrain_steps, "--pretrain-steps");
    require_positive(o.iters, "--iters");
    require_positive(o.batch, "--batch");
    require_positive(o.K, "--steps");
    require_positive(o.lr, "--lr");
    const auto t_start = std::chrono::steady_clock::now();
    std::filesystem::create_directories(o.out_dir);
    const data::GaussianMixture ring = data::default_ring();
    Rng rng(o.seed);

    // 1. pretraining
    nn::VelocityMLP<float> net(2, 256, 3, rng);
    flow::FlowMatchingConfig fm;
    fm.steps = o.pretrain_steps;
    fm.batch = 1024;
    fm.adam.lr = 1e-3;
    const auto path = parse_path_option(o.path);
    std::printf("== 1. flow matching on the 8-Gaussian ring: VelocityMLP(2, 256, 3), %ld steps of 1024, %s path\n",
                o.pretrain_steps, o.path.c_str());
    std::fflush(stdout);
    const auto log = flow::train_flow_matching(net, *path, [&](Index n, Rng& r) { return ring.sample(n, r); }, fm, rng);
    nn::Checkpoint ck = nn::to_checkpoint(net);
    ck.meta["data"] = "ring";
    ck.meta["path"] = o.path;
    nn::save_checkpoint(o.out_dir + "/base.ckpt", ck);
    std::printf("   final loss %.4f, %.1f s; checkpoint %s/base.ckpt\n", log.loss.back(), log.seconds, o.out_dir.c_str());

    LoadedField base = LoadedField::from_options(o.out_dir + "/base.ckpt", "");
    finetune::LinearReward reward({1.0f, 0.0f});
    const auto target = finetune::exact_tilt(ring, reward, o.lambda);

    // the base's own mode weights, and the tilt they predict
    Rng srng(o.seed + 10);
    const Mat<float> base_ode = flow::draw_samples(base.field(), *path,
        sampler_settings(*path, "ode", "exact", 100), o.n_eval, srng);
    const Mat<float> base_sde = flow::draw_samples(base.field(), *path,
        sampler_settings(*path, "memoryless", "exact", o.K), o.n_eval, srng);
    data::GaussianMixture ring_net = ring;
    ring_net.weights = data::mode_stats(ring, base_ode).weights;
    const auto target_net = finetune::exact_tilt(ring_net, reward, o.lambda);
    const auto base_ev = finetune::evaluate(base_ode, ring, nullptr);
    std::printf("   base model (ODE): mode-weight TV to the ring %.3f, largest mean error %.3f\n", base_ev.tv,
                base_ev.max_mean_error);

    // 2-3. fine-tuning and evaluation
    struct Run { std::string method, noise; };
    const std::vector<Run> runs = {{"am", "memoryless"}, {"am", "constant:0.5"}, {"bptt", "memoryless"}};
    std::vector<Row> table;
    auto layer = [](const Mat<float>& x, plot::Rgb color) {
        plot::Layer l;
        l.points = x;
        l.color = color;
        return std::vector<plot::Layer>{l};
    };
    std::vector<plot::Panel> panels = {{"base", layer(base_sde, plot::colors::grey)},
                                       {"exact target", layer(target.sample(o.n_eval, srng), plot::colors::green)}};
    for (const auto& run : runs) {
        std::printf("== fine-tuning: %s under %s, %ld iterations of %ld trajectories, K = %d\n", run.method.c_str(),
                    run.noise.c_str(), o.iters, long(o.batch), o.K);
        std::fflush(stdout);
        Rng frng(o.seed + 20);
        auto ft = make_finetuned(base, 0, 0, frng);
        finetune::FineTuneConfig cfg;
        cfg.method = finetune::parse_method(run.method);
        cfg.lambda = o.lambda;
        cfg.batch = o.batch;
        cfg.adam = nn::AdamConfig{o.lr};
        finetune::FineTuner tuner(*ft, reward, make_grid(*path, run.noise, "exact", o.K), cfg, o.seed + 30);
        const auto summary = run_finetuning([&] { return tuner.iterate(); }, o.iters, std::max<long>(1, o.iters / 5), "   " + run.method);
        Rng erng(o.seed + 40);
        const Mat<float> x_ode = flow::draw_samples(*ft, *path,
            sampler_settings(*path, "ode", "exact", 100), o.n_eval, erng);
        const Mat<float> x_sde = flow::draw_samples(*ft, *path,
            sampler_settings(*path, "memoryless", "exact", o.K), o.n_eval, erng);
        for (const auto& [name, x] : {std::pair<std::string, const Mat<float>&>{"ODE", x_ode}, {"memoryless", x_sde}}) {
            table.push_back({run.method, run.noise, name, finetune::evaluate(x, target, &reward),
                             finetune::evaluate(x, target_net, &reward), summary.seconds_per_iter, summary.peak_rss_mb});
            table.back().ev.check_finite();  // the table never shows nan
            table.back().ev_net.check_finite();
        }
        panels.push_back({run.method + ", " + run.noise, layer(x_sde, plot::colors::blue)});
    }
    print_table(table);
    plot::ScatterOptions so;
    so.limits = plot::Limits{-6, 6, -6, 6};
    so.title = "fine-tuning toward r(x) = x_0, lambda = " + std::to_string(o.lambda).substr(0, 4) +
               " (samples: memoryless SDE)";
    plot::scatter_panels(o.out_dir + "/demo.png", panels, so);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    std::printf("\npicture: %s/demo.png; total %.0f s. These are short runs (%ld iterations of %ld); the\n"
                "full-quality recipe (600 of 512) is in README.md.\n", o.out_dir.c_str(), total, o.iters, long(o.batch));
}
}  // namespace

void register_demo(CLI::App& app) {
    auto o = std::make_shared<DemoOptions>();
    auto* cmd = app.add_subcommand("demo", "The 2-D end-to-end demo: pretrain, fine-tune three ways, compare");
    cmd->add_option("--out-dir", o->out_dir, "folder for the checkpoint and the picture")->capture_default_str();
    cmd->add_option("--pretrain-steps", o->pretrain_steps, "flow-matching steps")->capture_default_str()->check(integer_in(1, kMaxIterations));
    cmd->add_option("--iters", o->iters, "fine-tuning iterations per method")->capture_default_str()->check(integer_in(1, kMaxIterations));
    cmd->add_option("--batch", o->batch, "trajectories per iteration")->capture_default_str()->check(integer_in(1, kMaxBatch));
    cmd->add_option("--steps", o->K, "sampler steps K of fine-tuning")->capture_default_str()->check(integer_in(1, kMaxSamplerSteps));
    cmd->add_option("--lambda", o->lambda, "reward multiplier")->capture_default_str()->check(real_in(-kMaxLambda, kMaxLambda));
    cmd->add_option("--lr", o->lr, "fine-tuning learning rate")->capture_default_str()->check(real_in(0, 1, true));
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(seed_value());
    cmd->add_option("--path", o->path, "probability path of the whole demo: condot | vp")->capture_default_str();
    cmd->callback([o] { run_demo(*o); });
}

}  // namespace am::cli
