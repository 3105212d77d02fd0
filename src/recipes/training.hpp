// The training loops as the programs run them: the engine (--backend: the
// autograd reference or the Thrust engine), flow matching on it, a
// fine-tuning loop with progress lines, and the process's memory figures.
// Used by the amflow subcommands, amflow-bench and the tests.
// Design: docs/design.md#recipes
#pragma once

#include <functional>
#include <string>

#include "finetune/trainer.hpp"
#include "flow/flow_matching.hpp"
#include "flow/path.hpp"
#include "nn/mlp.hpp"

namespace am::recipes {

// The engine a subcommand runs on (--backend): the autograd reference, or the
// Thrust engine (src/device/: OpenMP on the CPU, or CUDA in a CUDA=1 build).
enum class Backend { Autograd, Thrust };
// "autograd" | "thrust", else a one-line am::Error (also for thrust in a CUDA build without a GPU).
Backend parse_backend(const std::string& name);
std::string backend_name(Backend b);             // "autograd" | "thrust (omp)" | "thrust (cuda)"

// flow::train_flow_matching on the chosen engine (device::train_flow_matching for thrust).
flow::TrainLog train_flow(Backend backend, nn::VelocityMLP<float>& net, const flow::Path& schedule,
                          const std::function<Mat<float>(Index, Rng&)>& data, const flow::FlowMatchingConfig& cfg,
                          Rng& rng, nn::VelocityMLP<float>* ema);

// Runs `iters` iterations, printing a progress line every `report_every`
// (0: never) to stderr. Returns the mean seconds per iteration.
struct FineTuneSummary {
    double seconds_per_iter = 0;
    double peak_rss_mb = 0;
    finetune::IterationStats last;
};
// iterate() is one iteration of either engine (FineTuner::iterate, device::AMTrainer::iterate).
FineTuneSummary run_finetuning(const std::function<finetune::IterationStats()>& iterate, long iters,
                               long report_every, const std::string& label);

// Peak resident memory of this process since it started or since the last
// reset_peak_rss(), MiB.
double peak_rss_mb();
void reset_peak_rss();
// Resident memory now, MiB.
double current_rss_mb();

}  // namespace am::recipes
