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
#include "device/mlp.hpp"
#include "device/optim.hpp"
#include "finetune/trainer.hpp"
#include "flow/schedule.hpp"

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
    void download(nn::VelocityMLP<float>& net) const;
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
    Array traj_, a_, v_base_;
    FineTuneBuffers buf_;
    long iteration_ = 0;
};

// The coefficients of a step grid as the device uses them (float, as the reference).
std::vector<StepCoef> step_coefficients(const flow::StepGrid& grid);

}  // namespace am::device
