// amflow sample: samples of a trained network or of an exact mixture field,
// with the ODE or the SDE under any noise schedule. For an image model
// (MNIST) --plot writes a PNG grid of the first 100 samples.
// Design: docs/design.md#command-line
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/csv.hpp"
#include "device/trainer.hpp"
#include "data/file_io.hpp"
#include "plot/plots.hpp"

namespace am::cli {

namespace {
struct SampleOptions {
    std::string model, mixture, noise = "memoryless", scheme = "exact", ode_method = "heun";
    std::string out = "samples.csv", plot, trajectories, backend = "autograd", path;
    Index n = 2000;
    int steps = 100;
    std::uint64_t seed = 0;
};

void run_sample(const SampleOptions& o) {
    data::check_writable_path(o.out, "--out");
    if (!o.plot.empty()) data::check_writable_path(o.plot, "--plot");
    if (!o.trajectories.empty()) data::check_writable_path(o.trajectories, "--trajectories");
    const LoadedField lf = LoadedField::from_options(o.model, o.mixture, o.path);
    require_positive(double(o.n), "--n");
    require_positive(double(o.steps), "--steps");
    AM_CHECK(o.trajectories.empty() || lf.field().dim() == 2, "--trajectories: only for 2-D models");
    Rng rng(o.seed);
    std::vector<Mat<float>> traj;
    Mat<float> x;
    if (parse_backend(o.backend) == Backend::Thrust) {
        // the Thrust engine: a network on the step grid (the ODE as Euler steps), Philox noise
        AM_CHECK(lf.network(), "--backend thrust samples a network (--model of pretrain or of a fine-tuned copy); "
                               "this field needs --backend autograd");
        AM_CHECK(o.noise != "ode" || o.ode_method == "euler",
                 "--backend thrust: the ODE runs as Euler steps; give --ode-method euler");
        AM_CHECK(o.trajectories.empty(), "--trajectories needs --backend autograd");
        x = device::sample(*lf.network(), make_grid(lf.path(), o.noise, o.scheme, o.steps), o.n, o.seed);
    } else {
        x = flow::draw_samples(lf.field(), lf.path(),
            sampler_settings(lf.path(), o.noise, o.scheme, o.steps, o.ode_method),
            o.n, rng, o.trajectories.empty() ? nullptr : &traj);
    }
    data::write_samples_csv(o.out, x);
    std::printf("sample: %ld samples of the %s (%s, %d steps) -> %s\n", long(o.n), lf.describe().c_str(),
                o.noise.c_str(), o.steps, o.out.c_str());
    if (!o.plot.empty() && lf.image()) {
        const Index m = std::min<Index>(o.n, 100);
        save_image_grid(o.plot, xt::view(x, xt::range(0, m), xt::all()), *lf.image(), 10,
                        "samples: " + o.noise + ", " + std::to_string(o.steps) + " steps");
        std::printf("sample: picture %s\n", o.plot.c_str());
    } else if (!o.plot.empty()) {
        std::vector<plot::Panel> panels;
        if (lf.mixture()) panels.push_back({"data (the mixture)", {{lf.mixture()->sample(o.n, rng), plot::colors::grey}}});
        panels.push_back({"samples: " + o.noise + ", " + std::to_string(o.steps) + " steps", {{x, plot::colors::blue}}});
        plot::scatter_panels(o.plot, panels);
        std::printf("sample: picture %s\n", o.plot.c_str());
    }
    if (!o.trajectories.empty()) {
        plot::TrajectoryOptions to;
        to.title = "trajectories, " + o.noise;
        plot::trajectory_plot(o.trajectories, traj, to);
        std::printf("sample: trajectories %s\n", o.trajectories.c_str());
    }
}
}  // namespace

void register_sample(CLI::App& app) {
    auto o = std::make_shared<SampleOptions>();
    auto* cmd = app.add_subcommand("sample", "Draw samples with the ODE or an SDE and write them as CSV");
    cmd->add_option("--model", o->model, "checkpoint of a trained or fine-tuned model");
    cmd->add_option("--mixture", o->mixture, "exact field of a mixture: ring | FILE.json");
    cmd->add_option("--n", o->n, "number of samples")->capture_default_str()->check(integer_in(1, kMaxBatch));
    cmd->add_option("--steps", o->steps, "sampler steps K")->capture_default_str()->check(integer_in(1, kMaxSamplerSteps));
    cmd->add_option("--noise", o->noise,
                    "ode (the flow ODE, solver --ode-method) | memoryless | constant:SIGMA (the SDE, --scheme)")->capture_default_str();
    cmd->add_option("--scheme", o->scheme, "SDE discretisation: exact | paper | offset")->capture_default_str();
    cmd->add_option("--ode-method", o->ode_method, "ODE solver for --noise ode: euler | heun")->capture_default_str();
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(seed_value());
    cmd->add_option("--backend", o->backend, "autograd | thrust (a network; README)")->capture_default_str();
    cmd->add_option("--path", o->path, "condot | vp: the mixture's path (default condot); a --model's is recorded, "
                                       "and another is refused");
    cmd->add_option("--out", o->out, "samples CSV to write")->capture_default_str();
    cmd->add_option("--plot", o->plot, "PNG scatter plot of the samples (images: a grid of the first 100)");
    cmd->add_option("--trajectories", o->trajectories, "PNG of the sampler's trajectories");
    cmd->callback([o, cmd] {
        check_ode_method(*cmd, o->noise);
        run_sample(*o);
    });
}

}  // namespace am::cli
