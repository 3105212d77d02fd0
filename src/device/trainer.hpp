// The Thrust engine's training loops: one whole adjoint-matching iteration
// (finetune --method am) and one flow-matching step (pretrain), every array
// operation on the device (src/device/*.cu). The host keeps what is
// inherently host-side: the choice of loss steps (the same Rng calls as the
// reference), the reward's gradient at X_K (a_K = -lambda grad r(X_K), on the
// B final states), and the data batches of pretraining.
//
// Noise: Philox, keyed by (seed, iteration) (am::philox_key), so that
// finetune::FineTuner with FineTuneConfig::philox_noise draws the same
// trajectories number for number. Reference twins: finetune::FineTuner
// (src/finetune/trainer.cpp), flow::FlowMatchingTrainer (src/flow/flow_matching.cpp).
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <functional>

#include "device/array.hpp"
#include "device/finetune.hpp"
#include "device/flow.hpp"
#include "device/mlp.hpp"
#include "device/optim.hpp"
#include "finetune/trainer.hpp"
#include "flow/flow_matching.hpp"
#include "flow/path.hpp"

namespace am::device {

// Fine-tunes a trainable copy of a network base by adjoint matching with the lean adjoint.
class AMTrainer {
public:
    // base: the frozen pretrained network; ft: the starting weights of the fine-tuned copy
    // (same architecture; usually the base itself). cfg.method must be am.
    AMTrainer(const nn::VelocityMLP<float>& base, const nn::VelocityMLP<float>& ft, const finetune::Reward& reward,
              flow::StepGrid grid, finetune::FineTuneConfig cfg, std::uint64_t seed);
    finetune::IterationStats iterate();
    // The current fine-tuned weights into net (same architecture).
    void download(const nn::VelocityMLP<float>& net) const;
    long iterations() const { return iteration_; }

private:
    MLPLayout m_;
    Array base_, ft_, grad_;
    const finetune::Reward& reward_;
    flow::StepGrid grid_;
    std::vector<StepCoef> coef_;
    finetune::FineTuneConfig cfg_;
    std::uint64_t seed_;
    Rng rng_;  // the loss steps only, as FineTuner's in Philox mode
    AdamState adam_;
    finetune::StepControl control_;  // cosine lr, relative clip: as FineTuner
    Array traj_, a_, v_base_;
    FineTuneBuffers buf_;
    long iteration_ = 0;
};

// One flow-matching step at a time on the device: flow::FlowMatchingTrainer's
// twin. The host draws the batch (data, noise and times: the same Rng calls as
// the reference, so both engines see the same batches) and the path's
// coefficients per row; the rest (the pairs X_t and targets, the network, the
// loss, its gradient, Adam) runs on the device.
class FMTrainer {
public:
    FMTrainer(const nn::VelocityMLP<float>& net, const flow::Path& schedule,
              std::function<Mat<float>(Index, Rng&)> data, Index batch, nn::AdamConfig adam);
    double step(Rng& rng);  // returns the batch's loss
    AdamState& optimizer() { return adam_; }
    Array& parameters() { return params_; }
    // The current weights into net (same architecture).
    void download(const nn::VelocityMLP<float>& net) const;

private:
    MLPLayout m_;
    const flow::Path& schedule_;
    std::function<Mat<float>(Index, Rng&)> data_;
    Index batch_;
    Array params_, grad_;
    AdamState adam_;
    FlowMatchingBuffers buf_;
};

// flow::train_flow_matching on the device: the same loop (flow::run_flow_matching)
// over FMTrainer steps, the moving average of the weights kept on the device;
// net (and ema, when given with cfg.ema_decay > 0) receive the weights at the end.
flow::TrainLog train_flow_matching(nn::VelocityMLP<float>& net, const flow::Path& schedule,
                                   const std::function<Mat<float>(Index, Rng&)>& data,
                                   const flow::FlowMatchingConfig& cfg, Rng& rng,
                                   nn::VelocityMLP<float>* ema = nullptr);

// Samples of a network on a step grid (flow::sample_sde's twin, noise from
// Philox with key philox_key(seed, 0)), in batches of `batch` rows: (n, d).
Mat<float> sample(const nn::VelocityMLP<float>& net, const flow::StepGrid& grid, Index n, std::uint64_t seed,
                  Index batch = 4096);

// The coefficients of a step grid as the device uses them (float, as the reference).
std::vector<StepCoef> step_coefficients(const flow::StepGrid& grid);

}  // namespace am::device
