// amflow demo: the whole 2-D story from nothing (recipes::run_ring_demo:
// pretraining on the ring, three fine-tuning methods, the table against the
// exact tilt, OUT/demo.png); this file holds its options.
// Design: docs/design.md#command-line
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "recipes/demos.hpp"

namespace am::cli {

void register_demo(CLI::App& app) {
    auto o = std::make_shared<RingDemoSettings>();
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
    cmd->callback([o] { run_ring_demo(*o); });
}

}  // namespace am::cli
