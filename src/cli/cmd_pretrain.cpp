// amflow pretrain: flow matching on a 2-D data set.
#include <cstdio>
#include <fstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/mixture_json.hpp"
#include "data/toy2d.hpp"
#include "flow/flow_matching.hpp"
#include "plot/plots.hpp"

namespace am::cli {

namespace {
struct PretrainOptions {
    std::string data = "ring", out = "model.ckpt", loss_log, plot;
    long steps = 5000;
    Index batch = 1024, width = 256, depth = 3;
    double lr = 1e-3;
    std::uint64_t seed = 0;
};

void run_pretrain(const PretrainOptions& o) {
    require_positive(double(o.steps), "--steps");
    require_positive(double(o.batch), "--batch");
    require_positive(o.lr, "--lr");
    const data::Dataset2D dataset(o.data);
    Rng rng(o.seed);
    nn::VelocityMLP<float> net(2, o.width, o.depth, rng);
    std::fprintf(stderr, "pretrain: %s, VelocityMLP(2, %ld, %ld) with %zu parameters, %ld steps of %ld\n",
                 o.data.c_str(), long(o.width), long(o.depth), net.num_parameters(), o.steps, long(o.batch));
    flow::FlowMatchingConfig cfg;
    cfg.steps = o.steps;
    cfg.batch = o.batch;
    cfg.adam.lr = o.lr;
    const flow::CondOT path;
    const auto log = flow::train_flow_matching(
        net, path, [&](Index n, Rng& r) { return dataset.sample(n, r); }, cfg, rng);

    nn::Checkpoint ck = nn::to_checkpoint(net);
    ck.meta["data"] = o.data;
    if (dataset.mixture() && o.data != "ring") ck.meta["mixture_json"] = data::mixture_to_json(*dataset.mixture());
    ck.meta["steps"] = std::to_string(o.steps);
    ck.meta["seed"] = std::to_string(o.seed);
    nn::save_checkpoint(o.out, ck);
    std::printf("pretrain: final loss %.4f after %.1f s; checkpoint %s\n", log.loss.back(), log.seconds,
                o.out.c_str());
    if (!o.loss_log.empty()) {
        std::ofstream f(o.loss_log);
        AM_CHECK(f.good(), "cannot write the loss log " + o.loss_log);
        f << "step,loss\n";
        for (std::size_t i = 0; i < log.step.size(); ++i) f << log.step[i] << "," << log.loss[i] << "\n";
    }
    if (!o.plot.empty()) {
        Rng prng(o.seed + 1);
        const flow::NetworkVelocity field(net);
        const Mat<float> samples = draw_samples(field, 2000, 100, "ode", "exact", "heun", prng);
        plot::scatter_panels(o.plot, {{"data: " + o.data, {{dataset.sample(2000, prng), plot::colors::grey}}},
                                      {"samples (ODE, Heun, 100 steps)", {{samples, plot::colors::blue}}}});
        std::printf("pretrain: picture %s\n", o.plot.c_str());
    }
}
}  // namespace

void register_pretrain(CLI::App& app) {
    auto o = std::make_shared<PretrainOptions>();
    auto* cmd = app.add_subcommand("pretrain", "Train a velocity network by flow matching on 2-D data");
    cmd->add_option("--data", o->data, "ring | checkerboard | moons | spirals | mixture:FILE.json")->capture_default_str();
    cmd->add_option("--steps", o->steps, "training steps")->capture_default_str();
    cmd->add_option("--batch", o->batch, "batch size")->capture_default_str();
    cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
    cmd->add_option("--width", o->width, "hidden width H")->capture_default_str();
    cmd->add_option("--depth", o->depth, "hidden layers L")->capture_default_str();
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
    cmd->add_option("--out", o->out, "checkpoint to write")->capture_default_str();
    cmd->add_option("--loss-log", o->loss_log, "CSV of the loss every 100 steps");
    cmd->add_option("--plot", o->plot, "PNG: data next to samples of the trained model");
    cmd->callback([o] { run_pretrain(*o); });
}

}  // namespace am::cli
