// amflow pretrain: flow matching on a 2-D data set, or on images
// (--data mnist | idx:DIR: the MNIST velocity network of WORKLOADS.md,
// VelocityMLP(784, 1024, 3), with its own defaults, see register_pretrain).
// Design: docs/design.md#command-line
#include <cstdio>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/file_io.hpp"
#include "data/mixture_json.hpp"
#include "data/toy2d.hpp"
#include "core/parse.hpp"
#include "finetune/presets.hpp"
#include "flow/flow_matching.hpp"
#include "plot/plots.hpp"

namespace am::cli {

namespace {
// The options start at the 2-D preset (what --help shows); images take
// finetune::pretrain_image_preset() for every flag not given.
struct PretrainOptions {
    std::string data = "ring", out = "model.ckpt", loss_log, plot, backend = "autograd", path = "condot",
                output = "velocity";
    long steps;
    Index batch, width, depth, time_features = 0;
    double lr, ema, lr_final;
    std::uint64_t seed = 0;
    CLI::App* cmd = nullptr;  // to tell given options from defaults
    explicit PretrainOptions(const finetune::PretrainPreset& p)
        : steps(p.flow.steps), batch(p.flow.batch), width(p.width), depth(p.depth), lr(p.flow.adam.lr),
          ema(p.flow.ema_decay), lr_final(p.flow.lr_final_fraction) {}
    bool given(const std::string& opt) const { return cmd && cmd->count(opt) > 0; }
};

// The preset of the data's kind with the given flags in place of its fields.
finetune::PretrainPreset settings_of(const PretrainOptions& o, bool images) {
    finetune::PretrainPreset p = images ? finetune::pretrain_image_preset() : finetune::pretrain_2d_preset();
    if (o.given("--steps")) p.flow.steps = o.steps;
    if (o.given("--batch")) p.flow.batch = o.batch;
    if (o.given("--lr")) p.flow.adam.lr = o.lr;
    if (o.given("--ema")) p.flow.ema_decay = o.ema;
    if (o.given("--lr-final")) p.flow.lr_final_fraction = o.lr_final;
    if (o.given("--width")) p.width = o.width;
    if (o.given("--depth")) p.depth = o.depth;
    AM_CHECK(p.flow.ema_decay >= 0 && p.flow.ema_decay < 1, "--ema must be in [0, 1)");
    AM_CHECK(p.flow.lr_final_fraction > 0 && p.flow.lr_final_fraction <= 1, "--lr-final must be in (0, 1]");
    require_positive(double(p.flow.steps), "--steps");
    require_positive(double(p.flow.batch), "--batch");
    require_positive(p.flow.adam.lr, "--lr");
    require_positive(double(p.width), "--width");
    require_positive(double(p.depth), "--depth");
    return p;
}

// --output, checked against --path: the data output reads D as the CondOT denoiser.
nn::VelocityOutput output_of(const PretrainOptions& o) {
    const nn::VelocityOutput out = nn::parse_velocity_output(o.output);
    AM_CHECK(out == nn::VelocityOutput::Velocity || o.path == "condot",
             "--output data is the denoiser of the CondOT path; with --path " + o.path + " use --output velocity");
    return out;
}

// Images: finetune::pretrain_image_preset() unless given.
void run_pretrain_images(const PretrainOptions& o) {
    const data::ImageData d = data::load_image_data(o.data);
    const finetune::PretrainPreset p = settings_of(o, true);
    const flow::FlowMatchingConfig& cfg = p.flow;
    const Index width = p.width, depth = p.depth;
    Rng rng(o.seed);
    nn::VelocityMLP<float> net(d.dim(), width, depth, rng, o.time_features, output_of(o));
    std::fprintf(stderr, "pretrain: %s (%zu training images of %d x %d, pixels scaled to [-1, 1]), "
                         "VelocityMLP(%ld, %ld, %ld, %ld time features) with %zu parameters, %ld steps of %ld\n",
                 d.dir.c_str(), d.train.labels.size(), d.rows(), d.cols(), long(d.dim()), long(width), long(depth),
                 long(o.time_features), net.num_parameters(), cfg.steps, long(cfg.batch));
    const auto path = parse_path_option(o.path);
    const ImageFlowResult r = pretrain_image_flow(net, d, cfg, rng, parse_backend(o.backend), *path);
    save_image_flow(o.out, r, d, cfg, o.seed, *path);
    std::printf("pretrain: final loss %.4f after %.1f s; checkpoint %s (the EMA weights)\n", r.final_loss, r.seconds,
                o.out.c_str());
    // Training loss (the last log entry, the training weights) against the
    // loss of the saved (EMA) weights on the same number of training and
    // held-out digits with the same noise: memorising or under-fitting.
    const Index n_eval = std::min<Index>(rows(d.test.images), 2000);
    const flow::HeldOutLoss train_loss = flow::evaluate_flow_matching_loss(
        r.ema, *path, xt::view(d.train.images, xt::range(0, n_eval), xt::all()), 2, o.seed + 7);
    const flow::HeldOutLoss test_loss = flow::evaluate_flow_matching_loss(
        r.ema, *path, xt::view(d.test.images, xt::range(0, n_eval), xt::all()), 2, o.seed + 7);
    std::printf("pretrain: loss of the saved weights on %ld training / %ld held-out digits: %.4f / %.4f; "
                "held-out by t quarter: %.3f %.3f %.3f %.3f\n",
                long(n_eval), long(n_eval), train_loss.mean, test_loss.mean, test_loss.by_time[0], test_loss.by_time[1],
                test_loss.by_time[2], test_loss.by_time[3]);
    if (!o.plot.empty()) {
        Rng prng(o.seed + 1);
        const flow::NetworkVelocity field(r.ema);
        const Mat<float> x = flow::draw_samples(field, *path, sampler_settings(*path, "ode", "exact", 50), 100, prng);
        save_image_grid(o.plot, x, image_shape_of(d), 10, "samples (ODE, Heun, 50 steps)");
        std::printf("pretrain: picture %s\n", o.plot.c_str());
    }
}

void run_pretrain(const PretrainOptions& o) {
    // the output files are checked before any work, so that a typo does not cost a run
    data::check_writable_path(o.out, "--out");
    if (!o.loss_log.empty()) data::check_writable_path(o.loss_log, "--loss-log");
    if (!o.plot.empty()) data::check_writable_path(o.plot, "--plot");
    const Backend backend = parse_backend(o.backend);
    const auto path = parse_path_option(o.path);
    if (data::is_image_data_spec(o.data)) return run_pretrain_images(o);
    const finetune::PretrainPreset p = settings_of(o, false);
    const flow::FlowMatchingConfig& cfg = p.flow;
    const data::Dataset2D dataset(o.data);
    Rng rng(o.seed);
    nn::VelocityMLP<float> net(2, p.width, p.depth, rng, o.time_features, output_of(o));
    std::fprintf(stderr, "pretrain: %s, VelocityMLP(2, %ld, %ld) with %zu parameters, %ld steps of %ld, %s path, %s\n",
                 o.data.c_str(), long(p.width), long(p.depth), net.num_parameters(), cfg.steps, long(cfg.batch),
                 o.path.c_str(), backend_name(backend).c_str());
    nn::VelocityMLP<float> ema = net.clone();
    const auto log = train_flow(
        backend, net, *path, [&](Index n, Rng& r) { return dataset.sample(n, r); }, cfg, rng, &ema);
    if (cfg.ema_decay > 0) net = std::move(ema);

    nn::Checkpoint ck = nn::to_checkpoint(net);
    ck.meta["data"] = o.data;
    if (dataset.mixture() && o.data != "ring") ck.meta["mixture_json"] = data::mixture_to_json(*dataset.mixture());
    ck.meta["steps"] = std::to_string(cfg.steps);
    ck.meta["seed"] = std::to_string(o.seed);
    ck.meta["path"] = o.path;
    nn::save_checkpoint(o.out, ck);
    std::printf("pretrain: final loss %.4f after %.1f s; checkpoint %s\n", log.loss.back(), log.seconds,
                o.out.c_str());
    if (!o.loss_log.empty()) {
        std::ostringstream f;
        f << "step,loss\n";
        for (std::size_t i = 0; i < log.step.size(); ++i) f << log.step[i] << "," << log.loss[i] << "\n";
        data::write_file_atomic(o.loss_log, f.str());
    }
    if (!o.plot.empty()) {
        Rng prng(o.seed + 1);
        const flow::NetworkVelocity field(net);
        const Mat<float> samples =
            flow::draw_samples(field, *path, sampler_settings(*path, "ode", "exact", 100), 2000, prng);
        plot::scatter_panels(o.plot, {{"data: " + o.data, {{dataset.sample(2000, prng), plot::colors::grey}}},
                                      {"samples (ODE, Heun, 100 steps)", {{samples, plot::colors::blue}}}});
        std::printf("pretrain: picture %s\n", o.plot.c_str());
    }
}
}  // namespace

void register_pretrain(CLI::App& app) {
    auto o = std::make_shared<PretrainOptions>(finetune::pretrain_2d_preset());
    auto* cmd = app.add_subcommand("pretrain", "Train a velocity network by flow matching on 2-D data or images");
    o->cmd = cmd;
    // The defaults shown are the 2-D preset's; images (--data mnist | idx:DIR)
    // take the image preset's for every flag not given (finetune/presets.hpp).
    const finetune::PretrainPreset img = finetune::pretrain_image_preset();
    const auto images = [](auto v) { return " (images: " + format_number(double(v)) + ")"; };
    cmd->add_option("--lr-final", o->lr_final, "final learning rate / --lr, cosine decay" + images(img.flow.lr_final_fraction))
        ->capture_default_str()->check(real_in(0, 1, true));
    cmd->add_option("--ema", o->ema,
                    "decay of the moving average of the weights that the checkpoint holds (0: off)" +
                        images(img.flow.ema_decay))
        ->capture_default_str()->check(real_in(0, 1, false, true));
    cmd->add_option("--data", o->data, "ring | checkerboard | moons | spirals | mixture:FILE.json | mnist | idx:DIR")
        ->capture_default_str();
    cmd->add_option("--steps", o->steps, "training steps" + images(img.flow.steps))->capture_default_str()
        ->check(integer_in(1, kMaxIterations));
    cmd->add_option("--batch", o->batch, "batch size" + images(img.flow.batch))->capture_default_str()
        ->check(integer_in(1, kMaxBatch));
    cmd->add_option("--lr", o->lr, "Adam learning rate at the start (cosine decay to --lr-final times it)" + images(img.flow.adam.lr))
        ->capture_default_str()->check(real_in(0, 1, true));
    cmd->add_option("--width", o->width, "hidden width H" + images(img.width))->capture_default_str()
        ->check(integer_in(1, kMaxWidth));
    cmd->add_option("--depth", o->depth, "hidden layers L" + images(img.depth))->capture_default_str()
        ->check(integer_in(1, kMaxDepth));
    cmd->add_option("--output", o->output, "what the network outputs: velocity | data (the denoiser, CondOT)")
        ->capture_default_str();
    cmd->add_option("--time-features", o->time_features,
                    "F: the network sees t and sin, cos(pi 2^k t), k < F (0: t alone)")
        ->capture_default_str()
        ->check(integer_in(0, nn::kMaxTimeFeatures));
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(seed_value());
    cmd->add_option("--backend", o->backend, "autograd | thrust (the Thrust engine, README)")->capture_default_str();
    cmd->add_option("--path", o->path, "probability path: condot (X_t = t X1 + (1 - t) X0) | vp (cosine, variance "
                                       "preserving); the checkpoint records it")->capture_default_str();
    cmd->add_option("--out", o->out, "checkpoint to write")->capture_default_str();
    cmd->add_option("--loss-log", o->loss_log, "CSV of the loss every 100 steps");
    cmd->add_option("--plot", o->plot, "PNG: data next to samples of the trained model");
    cmd->callback([o] { run_pretrain(*o); });
}

}  // namespace am::cli
