// amflow finetune: reward fine-tuning of a trained network or of an exact
// mixture field, by any of the methods (--method), under any noise schedule.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/csv.hpp"

namespace am::cli {

namespace {
struct FineTuneOptions {
    std::string model, mixture, reward = "linear:1,0", method = "am", schedule = "memoryless", scheme = "exact";
    std::string loss_steps = "all", out = "finetuned.ckpt", samples;
    double lambda = 0.5, lr = 1e-4, clip = 0, weight_decay = 0, clip_norm = 0;
    int steps = 40, draft_k = 1;
    long iters = 600, report_every = 50;
    Index batch = 512, width = 128, depth = 3, eval_n = 20000;
    std::uint64_t seed = 0;
};

void run_finetune(const FineTuneOptions& o) {
    const LoadedField base = LoadedField::from_options(o.model, o.mixture);
    auto reward = finetune::parse_reward(o.reward, base.field().dim());
    require_positive(double(o.batch), "--batch");
    require_positive(o.lr, "--lr");
    Rng rng(o.seed);
    auto ft = make_finetuned(base, o.width, o.depth, rng);
    finetune::FineTuneConfig cfg;
    cfg.method = finetune::parse_method(o.method);
    cfg.lambda = o.lambda;
    cfg.batch = o.batch;
    cfg.loss_steps = finetune::LossSteps::parse(o.loss_steps);
    cfg.clip = o.clip;
    cfg.draft_k = o.draft_k;
    cfg.adam = nn::AdamConfig{o.lr, 0.9, 0.999, 1e-8, o.weight_decay, o.clip_norm};
    finetune::FineTuner tuner(*ft, *reward, make_grid(o.schedule, o.scheme, o.steps), cfg, o.seed + 1);
    std::fprintf(stderr, "finetune: %s on the %s; reward %s, lambda %g, schedule %s (%s), K = %d, batch %ld\n",
                 o.method.c_str(), base.describe().c_str(), reward->describe().c_str(), o.lambda,
                 o.schedule.c_str(), o.scheme.c_str(), o.steps, long(o.batch));
    const auto summary = run_finetuning(tuner, o.iters, o.report_every, "finetune");
    save_finetuned(o.out, *ft, base);
    std::printf("{\"method\": \"%s\", \"schedule\": \"%s\", \"seconds_per_iter\": %.4f, \"peak_rss_mb\": %.1f, "
                "\"checkpoint\": \"%s\"}\n",
                o.method.c_str(), o.schedule.c_str(), summary.seconds_per_iter, summary.peak_rss_mb, o.out.c_str());
    if (!o.samples.empty() || base.mixture()) {
        // evaluation: memoryless SDE samples of the fine-tuned model
        Rng erng(o.seed + 2);
        const Mat<float> x = draw_samples(*ft, o.eval_n, o.steps, "memoryless", o.scheme, "heun", erng);
        if (!o.samples.empty()) data::write_samples_csv(o.samples, x);
        if (base.mixture()) {
            const auto target = finetune::exact_tilt(*base.mixture(), *reward, o.lambda);
            std::printf("%s\n", finetune::evaluate(x, target, reward.get()).to_json().c_str());
        }
    }
}
}  // namespace

void register_finetune(CLI::App& app) {
    auto o = std::make_shared<FineTuneOptions>();
    auto* cmd = app.add_subcommand("finetune", "Reward fine-tuning: adjoint matching, BPTT and baselines");
    cmd->add_option("--model", o->model, "checkpoint of the base network");
    cmd->add_option("--mixture", o->mixture, "or an exact mixture base: ring | FILE.json");
    cmd->add_option("--reward", o->reward, "linear:c0,c1 | quadratic:a0,a1,tau")->capture_default_str();
    cmd->add_option("--lambda", o->lambda, "reward multiplier: target p_base exp(lambda r)")->capture_default_str();
    cmd->add_option("--method", o->method, "am | basic-am | bptt | draft | refl")->capture_default_str();
    cmd->add_option("--schedule", o->schedule, "memoryless | constant:SIGMA | ode")->capture_default_str();
    cmd->add_option("--scheme", o->scheme, "exact | paper | offset")->capture_default_str();
    cmd->add_option("--steps", o->steps, "sampler steps K")->capture_default_str();
    cmd->add_option("--iters", o->iters, "fine-tuning iterations")->capture_default_str();
    cmd->add_option("--batch", o->batch, "trajectories per iteration")->capture_default_str();
    cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
    cmd->add_option("--weight-decay", o->weight_decay, "Adam (decoupled) weight decay")->capture_default_str();
    cmd->add_option("--clip-norm", o->clip_norm, "gradient-norm clip (0: off)")->capture_default_str();
    cmd->add_option("--loss-steps", o->loss_steps, "am: all | paper | last:N")->capture_default_str();
    cmd->add_option("--clip", o->clip, "am: per-term loss clip (paper: 1.6 lambda^2; 0: off)")->capture_default_str();
    cmd->add_option("--draft-k", o->draft_k, "draft: steps backpropagated through")->capture_default_str();
    cmd->add_option("--width", o->width, "residual network width (exact bases)")->capture_default_str();
    cmd->add_option("--depth", o->depth, "residual network depth (exact bases)")->capture_default_str();
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
    cmd->add_option("--report-every", o->report_every, "progress line every N iterations (0: none)")->capture_default_str();
    cmd->add_option("--eval-n", o->eval_n, "samples for the final evaluation")->capture_default_str();
    cmd->add_option("--samples", o->samples, "CSV of the evaluation samples");
    cmd->add_option("--out", o->out, "checkpoint to write")->capture_default_str();
    cmd->callback([o] { run_finetune(*o); });
}

}  // namespace am::cli
