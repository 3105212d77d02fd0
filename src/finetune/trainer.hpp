// Reward fine-tuning, every method behind one switch (--method):
//
//   am        adjoint matching with the lean adjoint (base VJPs only)
//   basic-am  the same regression onto the full (exact discrete) adjoint
//   bptt      the discretised SOC cost differentiated through the sampler
//   draft     DRaFT-K: -lambda r(X_1) backpropagated through the last K steps,
//             no control cost
//   refl      ReFL: -lambda r of the one-step denoiser x_t + (1 - t) v_ft(x_t, t)
//             at a random step t (CondOT)
//
// One iteration = fresh trajectories from the current fine-tuned model, a
// loss, a backward pass, one Adam step.
// Design: docs/design.md#other-fine-tuning-methods
#pragma once

#include <string>

#include "finetune/adjoint.hpp"
#include "nn/optim.hpp"

namespace am::finetune {

enum class Method { AM, BasicAM, BPTT, DRaFT, ReFL };
Method parse_method(const std::string& name);
std::string method_name(Method m);

// The defaults are the 2-D network-base preset's method settings
// (finetune/presets.hpp); the learning rate stays constant unless iters and
// lr_final_fraction < 1 are set (the presets set both).
struct FineTuneConfig {
    Method method = Method::AM;
    double lambda = 0.5;
    Index batch = 512;
    LossSteps loss_steps;      // am, basic-am
    double clip = 0;           // am, basic-am: per-term clip (paper: 1.6 lambda^2); 0 = off
    LossWeighting weighting = LossWeighting::Paper;  // am, basic-am: weight of each step's terms
    Bootstrap bootstrap;       // am: the bootstrapped lean adjoint (weight 0: the paper's)
    int draft_k = 1;           // draft: steps backpropagated through
    nn::AdamConfig adam{3e-4};
    // am, basic-am: draw X_0 and the step noise of iteration n from Philox with
    // key philox_key(seed, n) (flow::philox_noise), as the thrust engine does,
    // instead of from the Rng: the two engines then sample the same
    // trajectories. The Rng still draws the loss steps.
    bool philox_noise = false;
    // Learning-rate schedule: with iters > 0, a cosine from adam.lr at the first
    // iteration to adam.lr * lr_final_fraction at iteration `iters`:
    //   lr_i = lr (f + (1 - f) (1 + cos(pi (i - 1) / (iters - 1))) / 2);  iters = 0: constant.
    long iters = 0;
    double lr_final_fraction = 1;
    // Relative gradient-norm clip (> 0): the gradient is scaled down to at most
    // clip_relative x g_ref, g_ref a running average (time constant 20 iterations)
    // of the clipped norms before it; scale-free, unlike adam.clip_norm.
    double clip_relative = 0;
};

struct IterationStats {
    double loss = 0;
    double reward_mean = 0;    // mean r(X_1) of this iteration's trajectories (before the update)
    double grad_norm = 0;
    double clipped_fraction = 0;
    bool norm_clipped = false; // the relative gradient-norm clip scaled this iteration's gradient
    double lr = 0;             // the learning rate of this iteration's step
    double seconds = 0;
};

// The per-iteration optimiser settings FineTuneConfig asks for (the cosine
// learning rate, the relative gradient-norm clip), kept in one place for both
// engines (FineTuner, device::AMTrainer). Iterations count from 1.
class StepControl {
public:
    explicit StepControl(const FineTuneConfig& cfg);
    struct Settings {
        double lr = 0;         // lr_i of the cosine schedule (adam.lr when iters <= 1)
        double clip_norm = 0;  // clip_relative x g_ref, or adam.clip_norm when that is off or i = 1
    };
    Settings before(long i) const;
    // After the step of iteration i, with the gradient norm before clipping:
    // updates g_ref; returns whether the relative clip scaled the gradient.
    bool after(long i, double grad_norm);

private:
    FineTuneConfig cfg_;
    double grad_ref_ = 0;  // running average of the clipped gradient norms (clip_relative)
};

class FineTuner {
public:
    FineTuner(FineTunedModel& model, const Reward& reward, flow::StepGrid grid, FineTuneConfig cfg,
              std::uint64_t seed);
    IterationStats iterate();
    const FineTuneConfig& config() const { return cfg_; }
    const flow::StepGrid& grid() const { return grid_; }

private:
    ag::Var<float> adjoint_matching(IterationStats& st);
    ag::Var<float> backprop_through_time(IterationStats& st);
    ag::Var<float> draft(IterationStats& st);
    ag::Var<float> refl(IterationStats& st);

    FineTunedModel& model_;
    const Reward& reward_;
    flow::StepGrid grid_;
    FineTuneConfig cfg_;
    Rng rng_;
    std::uint64_t seed_;
    long iteration_ = 0;  // iterations taken (the Philox key of the next one)
    nn::Adam<float> adam_;
    StepControl control_;
};

}  // namespace am::finetune
