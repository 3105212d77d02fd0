// amflow finetune: reward fine-tuning of a trained network or of an exact
// mixture field, by any of the methods (--method), under any noise schedule.
// For an image model (MNIST) the reward is classifier:CKPT,DIGIT and the
// final evaluation is the classifier's (finetune/evaluation.hpp).
// Design: docs/design.md#command-line
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/parse.hpp"
#include "data/csv.hpp"
#include "device/trainer.hpp"
#include "data/file_io.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/presets.hpp"

namespace am::cli {

namespace {
// The options start at the 2-D network-base preset (what --help shows); an
// exact base (--mixture) takes finetune::exact_base_recipe() and an image base
// finetune::image_recipe(method) for every flag not given.
struct FineTuneOptions {
    std::string model, mixture, reward = "linear:1,0", method = "am", noise = "memoryless", scheme = "exact";
    std::string loss_steps = "all", out = "finetuned.ckpt", samples, plot, backend = "autograd", path;
    double lambda, lr, clip = 0, weight_decay = 0, clip_norm = 0, lr_final, clip_rel;
    int steps, draft_k = 1;
    long iters, report_every = 50;
    Index batch, width, depth, eval_n = 20000;
    std::uint64_t seed = 0;
    CLI::App* cmd = nullptr;
    explicit FineTuneOptions(const finetune::Recipe& r)
        : lambda(r.cfg.lambda), lr(r.cfg.adam.lr), lr_final(r.cfg.lr_final_fraction), clip_rel(r.cfg.clip_relative),
          steps(r.K), iters(r.iters), batch(r.cfg.batch), width(finetune::exact_base_recipe().width),
          depth(finetune::exact_base_recipe().depth) {}
    bool given(const std::string& opt) const { return cmd && cmd->count(opt) > 0; }
    // The flags not given take the recipe's values.
    void fill_from(const finetune::Recipe& r) {
        if (!given("--lambda")) lambda = r.cfg.lambda;
        if (!given("--lr")) lr = r.cfg.adam.lr;
        if (!given("--lr-final")) lr_final = r.cfg.lr_final_fraction;
        if (!given("--clip-rel")) clip_rel = r.cfg.clip_relative;
        if (!given("--steps")) steps = r.K;
        if (!given("--iters")) iters = r.iters;
        if (!given("--batch")) batch = r.cfg.batch;
        if (r.width > 0 && !given("--width")) width = r.width;
        if (r.depth > 0 && !given("--depth")) depth = r.depth;
    }
};

// The classifier's figures for samples x of a fine-tuned image model (and
// the real digits of the class, when the base's data folder is there).
void evaluate_image_model(const FineTuneOptions& o, const LoadedField& base, const Mat<float>& x,
                          const finetune::LoadedClassifierReward& reward) {
    const Index n = rows(x);
    Mat<float> real;
    bool have_real = false;
    if (base.image() && data::is_image_data_spec(base.image()->data)) {
        try {
            real = data::rows_with_label(data::load_image_data(base.image()->data).test, reward.target_class());
            have_real = true;
        } catch (const Error& e) {
            std::fprintf(stderr, "finetune: no real digits to compare the diversity with (%s)\n", e.what());
        }
    }
    const auto ev = finetune::evaluate_images(reward.classifier(), x, reward.target_class(), have_real ? &real : nullptr);
    std::printf("%s\n", ev.to_json().c_str());
    if (!o.plot.empty()) {
        AM_CHECK(base.image().has_value(), "--plot: the base model has no image metadata");
        save_image_grid(o.plot, xt::view(x, xt::range(0, std::min<Index>(n, 100)), xt::all()), *base.image(), 10,
                        "fine-tuned (" + o.method + ", lambda " + std::to_string(o.lambda).substr(0, 4) +
                            "), memoryless SDE");
        std::printf("finetune: picture %s\n", o.plot.c_str());
    }
}

void run_finetune(const FineTuneOptions& given) {
    // the output files are checked before any work, so that a typo does not cost a run
    data::check_writable_path(given.out, "--out");
    if (!given.samples.empty()) data::check_writable_path(given.samples, "--samples");
    if (!given.plot.empty()) data::check_writable_path(given.plot, "--plot");
    const LoadedField base = LoadedField::from_options(given.model, given.mixture, given.path);
    // the preset of the base's kind (finetune/presets.hpp) for every flag not given
    FineTuneOptions o = given;
    const finetune::Method method = finetune::parse_method(o.method);
    if (base.image()) o.fill_from(finetune::image_recipe(method));
    else if (!base.network()) o.fill_from(finetune::exact_base_recipe());
    else o.fill_from(finetune::network_base_recipe());
    check_loss_steps(o.loss_steps, o.steps);
    AM_CHECK(o.draft_k <= o.steps, "--draft-k " + std::to_string(o.draft_k) + ": must be in [1, K] with K = --steps = " +
                                       std::to_string(o.steps));
    auto reward = finetune::make_reward(o.reward, base.field().dim());
    require_positive(double(o.batch), "--batch");
    require_positive(o.lr, "--lr");
    Rng rng(o.seed);
    auto ft = make_finetuned(base, o.width, o.depth, rng);
    finetune::FineTuneConfig cfg;
    cfg.method = method;
    AM_CHECK(cfg.method != finetune::Method::ReFL || path_option_name(base.path()) == "condot",
             "--method refl: its one-step denoiser x + (1 - t) v(x, t) is the CondOT one; this base is on the " +
                 path_option_name(base.path()) + " path");
    cfg.lambda = o.lambda;
    cfg.batch = o.batch;
    cfg.loss_steps = finetune::LossSteps::parse(o.loss_steps);
    cfg.clip = o.clip;
    cfg.draft_k = o.draft_k;
    cfg.adam = nn::AdamConfig{o.lr, 0.9, 0.999, 1e-8, o.weight_decay, o.clip_norm};
    AM_CHECK(o.lr_final > 0 && o.lr_final <= 1, "--lr-final: must be in (0, 1], got " + std::to_string(o.lr_final));
    AM_CHECK(o.clip_rel >= 0, "--clip-rel: must be >= 0, got " + std::to_string(o.clip_rel));
    cfg.iters = o.iters;
    cfg.lr_final_fraction = o.lr_final;
    cfg.clip_relative = o.clip_rel;
    const Backend backend = parse_backend(o.backend);
    std::fprintf(stderr, "finetune: %s on the %s; reward %s, lambda %g, noise %s (%s), K = %d, batch %ld, %s\n",
                 o.method.c_str(), base.describe().c_str(), reward->describe().c_str(), o.lambda,
                 o.noise.c_str(), o.scheme.c_str(), o.steps, long(o.batch), backend_name(backend).c_str());
    FineTuneSummary summary;
    if (backend == Backend::Thrust) {
        // the Thrust engine: method am on a trainable copy of a network base
        AM_CHECK(cfg.method == finetune::Method::AM,
                 "--backend thrust runs --method am only; --method " + o.method + " needs --backend autograd");
        auto* copy = dynamic_cast<finetune::CopyOfNetwork*>(ft.get());
        AM_CHECK(base.network() && copy, "--backend thrust needs a network base (--model); an exact base "
                                         "(--mixture) needs --backend autograd");
        device::AMTrainer trainer(*base.network(), copy->net(), *reward, make_grid(base.path(), o.noise, o.scheme, o.steps),
                                  cfg, o.seed + 1);
        summary = run_finetuning([&] { return trainer.iterate(); }, o.iters, o.report_every, "finetune");
        trainer.download(copy->net());
    } else {
        finetune::FineTuner tuner(*ft, *reward, make_grid(base.path(), o.noise, o.scheme, o.steps), cfg, o.seed + 1);
        summary = run_finetuning([&] { return tuner.iterate(); }, o.iters, o.report_every, "finetune");
    }

    // The outputs appear together at the end (data::StagedFiles): --out may
    // be the --model this run read, and is replaced only once the samples
    // are written too.
    data::StagedFiles files;
    files.add(o.out, nn::checkpoint_bytes(finetuned_checkpoint(*ft, base), o.out));
    // evaluation: memoryless SDE samples of the fine-tuned model
    const auto* classifier = dynamic_cast<const finetune::LoadedClassifierReward*>(reward.get());
    Mat<float> x;
    if (classifier || !o.samples.empty() || base.mixture()) {
        const Index n = classifier && !(o.cmd && o.cmd->count("--eval-n")) ? 1000 : o.eval_n;
        Rng erng(o.seed + 2);
        x = flow::draw_samples(*ft, base.path(), sampler_settings(base.path(), "memoryless", o.scheme, o.steps), n, erng);
        if (!o.samples.empty()) files.add(o.samples, data::samples_csv(x, o.samples));
    }
    std::string evaluation;
    if (!classifier && base.mixture())
        evaluation = finetune::evaluate(x, finetune::exact_tilt(*base.mixture(), *reward, o.lambda), reward.get()).to_json();
    files.commit();
    std::printf("{\"method\": \"%s\", \"backend\": \"%s\", \"noise\": \"%s\", \"seconds_per_iter\": %.4f, "
                "\"peak_rss_mb\": %.1f, \"checkpoint\": \"%s\"}\n",
                o.method.c_str(), o.backend.c_str(), o.noise.c_str(), summary.seconds_per_iter, summary.peak_rss_mb,
                o.out.c_str());
    if (classifier) evaluate_image_model(o, base, x, *classifier);
    if (!evaluation.empty()) std::printf("%s\n", evaluation.c_str());
}
}  // namespace

void register_finetune(CLI::App& app) {
    auto o = std::make_shared<FineTuneOptions>(finetune::network_base_recipe());
    auto* cmd = app.add_subcommand("finetune", "Reward fine-tuning: adjoint matching, BPTT and baselines");
    o->cmd = cmd;
    // The defaults shown are the 2-D network base's; an exact base and an
    // image base take their own presets for every flag not given.
    const finetune::Recipe exact = finetune::exact_base_recipe();
    const finetune::Recipe image = finetune::image_recipe(finetune::Method::AM);
    const finetune::Recipe image_bptt = finetune::image_recipe(finetune::Method::BPTT);
    const auto n = [](double v) { return format_number(v); };
    const auto others = [&](double e, double i) {
        return " (exact base: " + n(e) + "; images: " + n(i) + ")";
    };
    cmd->add_option("--model", o->model, "checkpoint of the base network");
    cmd->add_option("--mixture", o->mixture, "or an exact mixture base: ring | FILE.json");
    cmd->add_option("--reward", o->reward, "linear:c0,c1 | quadratic:a0,a1,tau | classifier:CKPT,DIGIT (images)")
        ->capture_default_str();
    cmd->add_option("--lambda", o->lambda, "reward multiplier: target p_base exp(lambda r)" + others(exact.cfg.lambda, image.cfg.lambda))->capture_default_str()
        ->check(real_in(-kMaxLambda, kMaxLambda));
    cmd->add_option("--method", o->method, "am | basic-am | bptt | draft | refl")->capture_default_str();
    cmd->add_option("--noise", o->noise,
                    "noise of the training trajectories: memoryless | constant:SIGMA | ode (ode: Euler on the "
                    "step grid; --samples are drawn with the memoryless SDE)")->capture_default_str();
    cmd->add_option("--scheme", o->scheme, "exact | paper | offset")->capture_default_str();
    cmd->add_option("--steps", o->steps, "sampler steps K" + others(exact.K, image.K))->capture_default_str()->check(integer_in(1, kMaxSamplerSteps));
    cmd->add_option("--iters", o->iters, "fine-tuning iterations" + others(double(exact.iters), double(image.iters)))->capture_default_str()
        ->check(integer_in(1, kMaxIterations));
    cmd->add_option("--batch", o->batch, "trajectories per iteration" + others(double(exact.cfg.batch), double(image.cfg.batch)))->capture_default_str()->check(integer_in(1, kMaxBatch));
    cmd->add_option("--lr", o->lr, "Adam learning rate (exact base: " + n(exact.cfg.adam.lr) + "; images: " + n(image.cfg.adam.lr) + ", bptt " + n(image_bptt.cfg.adam.lr) + ")")->capture_default_str()->check(real_in(0, 1, true));
    cmd->add_option("--weight-decay", o->weight_decay, "Adam (decoupled) weight decay")->capture_default_str()->check(real_in(0, 1));
    cmd->add_option("--clip-norm", o->clip_norm, "gradient-norm clip (0: off)")->capture_default_str()->check(real_in(0, 1e6));
    cmd->add_option("--lr-final", o->lr_final, "cosine decay of the learning rate to this fraction (1: constant)" + others(exact.cfg.lr_final_fraction, image.cfg.lr_final_fraction))
        ->capture_default_str()->check(real_in(0, 1));
    cmd->add_option("--clip-rel", o->clip_rel, "gradient norm clipped at this multiple of its running average (0: off)" + others(exact.cfg.clip_relative, image.cfg.clip_relative))
        ->capture_default_str()->check(real_in(0, 1e6));
    cmd->add_option("--loss-steps", o->loss_steps, "am: all | paper | last:N")->capture_default_str();
    cmd->add_option("--clip", o->clip, "am: per-term loss clip (paper: 1.6 lambda^2; 0: off)")->capture_default_str()
        ->check(real_in(0, 1e12));
    cmd->add_option("--draft-k", o->draft_k, "draft: steps backpropagated through")->capture_default_str()
        ->check(integer_in(1, kMaxSamplerSteps));
    cmd->add_option("--width", o->width, "residual network width (exact bases)")->capture_default_str()->check(integer_in(1, kMaxWidth));
    cmd->add_option("--depth", o->depth, "residual network depth (exact bases)")->capture_default_str()->check(integer_in(1, kMaxDepth));
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(seed_value());
    cmd->add_option("--path", o->path, "condot | vp: the --mixture's path (default condot); a --model's is recorded, "
                                       "and another is refused");
    cmd->add_option("--backend", o->backend, "autograd | thrust (method am on a network base; README)")
        ->capture_default_str();
    cmd->add_option("--report-every", o->report_every, "progress line every N iterations (0: none)")->capture_default_str()
        ->check(integer_in(0, kMaxIterations));
    cmd->add_option("--eval-n", o->eval_n, "samples for the final evaluation (images: 1000)")->capture_default_str()
        ->check(integer_in(1, kMaxBatch));
    cmd->add_option("--plot", o->plot, "images: PNG grid of 100 evaluation samples");
    cmd->add_option("--samples", o->samples, "CSV of the evaluation samples");
    cmd->add_option("--out", o->out, "checkpoint to write")->capture_default_str();
    cmd->callback([o] { run_finetune(*o); });
}

}  // namespace am::cli
