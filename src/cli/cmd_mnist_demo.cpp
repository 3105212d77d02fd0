// amflow mnist-demo: the whole MNIST story from the IDX files (make data):
// recipes::run_mnist_demo (the classifier, the flow model, fine-tuning toward
// a digit by adjoint matching and BPTT, the table and the grids); this file
// holds its options.
// Design: docs/design.md#command-line
#include <cmath>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/parse.hpp"
#include "recipes/demos.hpp"

namespace am::cli {

namespace {
// "1,4" -> {1, 4}; every item a positive number, else a one-line error naming the option.
std::vector<double> positive_list(const std::string& s, const std::string& opt) {
    std::vector<double> out;
    for (const auto& item : split(s, ',')) {
        const auto v = parse_double(item);
        AM_CHECK(v && std::isfinite(*v) && *v > 0, opt + " '" + s + "': '" + item + "' is not a positive number");
        out.push_back(*v);
    }
    return out;
}
}  // namespace

void register_mnist_demo(CLI::App& app) {
    auto o = std::make_shared<MnistDemoSettings>();
    auto lambdas = std::make_shared<std::string>();
    for (double l : o->lambdas) *lambdas += (lambdas->empty() ? "" : ",") + format_number(l);
    auto* cmd = app.add_subcommand("mnist-demo", "The MNIST story: classifier, flow model, fine-tuning toward a digit, table");
    cmd->add_option("--out-dir", o->out_dir, "folder for checkpoints, grids and the table")->capture_default_str();
    cmd->add_option("--data", o->data, "mnist | idx:DIR")->capture_default_str();
    cmd->add_option("--digit", o->digit, "the target class c")->capture_default_str();
    cmd->add_option("--classifier-steps", o->classifier_steps, "classifier training steps")->capture_default_str();
    cmd->add_option("--pretrain-steps", o->pretrain_steps, "flow-matching steps")->capture_default_str();
    cmd->add_option("--pretrain-batch", o->pretrain_batch, "flow-matching batch")->capture_default_str();
    cmd->add_option("--pretrain-lr", o->pretrain_lr, "flow-matching learning rate")->capture_default_str();
    cmd->add_option("--lambdas", *lambdas, "adjoint matching: reward multipliers (BPTT: the first)")->capture_default_str();
    cmd->add_option("--iters", o->iters, "fine-tuning iterations (adjoint matching)")->capture_default_str();
    cmd->add_option("--bptt-iters", o->bptt_iters, "BPTT iterations (0: as --iters)")->capture_default_str();
    cmd->add_option("--batch", o->batch, "trajectories per iteration")->capture_default_str();
    cmd->add_option("--steps", o->K, "sampler steps K (fine-tuning and SDE evaluation)")->capture_default_str();
    cmd->add_option("--scheme", o->scheme, "memoryless discretisation: exact | paper | offset")->capture_default_str();
    cmd->add_option("--lr", o->lr, "adjoint matching: learning rate")->capture_default_str();
    cmd->add_option("--bptt-lr", o->bptt_lr, "BPTT: learning rate (2e-4 diverges toward a few shapes)")->capture_default_str();
    cmd->add_option("--loss-steps", o->loss_steps, "adjoint matching: all | paper | last:N")->capture_default_str();
    cmd->add_option("--clip", o->clip, "adjoint matching: per-term loss clip (0: off)")->capture_default_str();
    cmd->add_option("--ode-steps", o->ode_steps, "Heun steps of the ODE evaluation")->capture_default_str();
    cmd->add_option("--n-eval", o->n_eval, "samples per evaluation")->capture_default_str();
    cmd->add_flag("--no-bptt", o->no_bptt, "skip BPTT");
    cmd->add_flag("--reuse", o->reuse, "reuse OUT/classifier.ckpt and OUT/base.ckpt when they exist");
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
    cmd->callback([o, lambdas] {
        o->lambdas = positive_list(*lambdas, "--lambdas");
        run_mnist_demo(*o);
    });
}

}  // namespace am::cli
