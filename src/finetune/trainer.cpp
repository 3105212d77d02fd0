// Design: docs/design.md#other-fine-tuning-methods
#include "finetune/trainer.hpp"

#include <chrono>
#include <cmath>

#include "core/philox.hpp"

namespace am::finetune {

using ag::Var;

Method parse_method(const std::string& name) {
    if (name == "am") return Method::AM;
    if (name == "basic-am") return Method::BasicAM;
    if (name == "bptt") return Method::BPTT;
    if (name == "draft") return Method::DRaFT;
    if (name == "refl") return Method::ReFL;
    throw Error("unknown method '" + name + "' (expected am, basic-am, bptt, draft or refl)");
}

std::string method_name(Method m) {
    switch (m) {
        case Method::AM: return "am";
        case Method::BasicAM: return "basic-am";
        case Method::BPTT: return "bptt";
        case Method::DRaFT: return "draft";
        case Method::ReFL: return "refl";
    }
    return "?";
}

StepControl::StepControl(const FineTuneConfig& cfg) : cfg_(cfg) {
    AM_CHECK(cfg.iters >= 0 && cfg.lr_final_fraction > 0 && cfg.lr_final_fraction <= 1,
             "fine-tuning: the learning-rate schedule needs iters >= 0 and a final fraction in (0, 1]");
    AM_CHECK(cfg.clip_relative >= 0, "fine-tuning: the relative gradient clip must be >= 0");
}

//   lr_i = lr (f + (1 - f) (1 + cos(pi (i - 1) / (iters - 1))) / 2),  constant when iters <= 1;
//   clip_i = clip_relative g_ref (from i = 2), g_ref <- 0.95 g_ref + 0.05 min(||g_i||, clip_i).
StepControl::Settings StepControl::before(long i) const {
    Settings s;
    s.lr = cfg_.adam.lr;
    if (cfg_.iters > 1) {
        const double f = cfg_.lr_final_fraction, progress = std::min(1.0, double(i - 1) / double(cfg_.iters - 1));
        s.lr = cfg_.adam.lr * (f + (1 - f) * 0.5 * (1 + std::cos(M_PI * progress)));
    }
    const double threshold = cfg_.clip_relative > 0 && i > 1 ? cfg_.clip_relative * grad_ref_ : 0;
    s.clip_norm = threshold > 0 ? threshold : cfg_.adam.clip_norm;
    return s;
}

bool StepControl::after(long i, double grad_norm) {
    if (cfg_.clip_relative <= 0) return false;
    const double threshold = i > 1 ? cfg_.clip_relative * grad_ref_ : 0;
    const double kept = threshold > 0 ? std::min(grad_norm, threshold) : grad_norm;
    grad_ref_ = i == 1 ? kept : 0.95 * grad_ref_ + 0.05 * kept;
    return threshold > 0 && grad_norm > threshold;
}

FineTuner::FineTuner(FineTunedModel& model, const Reward& reward, flow::StepGrid grid, FineTuneConfig cfg,
                     std::uint64_t seed)
    : model_(model), reward_(reward), grid_(std::move(grid)), cfg_(cfg), rng_(seed), seed_(seed),
      adam_(model.parameters(), cfg.adam), control_(cfg) {
    AM_CHECK(reward.dim() == model.dim(), "fine-tuning: the reward is " + std::to_string(reward.dim()) +
                                              "-D, the model " + std::to_string(model.dim()) + "-D");
    AM_CHECK(cfg.batch > 0, "fine-tuning: the batch must be positive");
    AM_CHECK(!grid_.empty(), "fine-tuning: the time grid has no steps");
    AM_CHECK(std::isfinite(cfg.lambda), "fine-tuning: lambda must be a finite number");
    AM_CHECK(cfg.draft_k >= 1 && cfg.draft_k <= int(grid_.size()),
             "fine-tuning: draft K must be between 1 and the number of steps");
}

IterationStats FineTuner::iterate() {
    const auto t0 = std::chrono::steady_clock::now();
    IterationStats st;
    Var<float> loss;
    switch (cfg_.method) {
        case Method::AM:
        case Method::BasicAM: loss = adjoint_matching(st); break;
        case Method::BPTT: loss = backprop_through_time(st); break;
        case Method::DRaFT: loss = draft(st); break;
        case Method::ReFL: loss = refl(st); break;
    }
    st.loss = loss.item();
    const std::string who = "fine-tuning (" + method_name(cfg_.method) + ")";
    nn::check_finite_value(st.loss, "loss", adam_.steps_taken() + 1, who);
    nn::check_finite_value(st.reward_mean, "mean reward", adam_.steps_taken() + 1, who);
    adam_.zero_grad();
    ag::backward(loss);
    const long i = iteration_ + 1;  // this iteration, from 1
    const StepControl::Settings set = control_.before(i);
    adam_.config().lr = st.lr = set.lr;
    adam_.config().clip_norm = set.clip_norm;
    st.grad_norm = adam_.step(who);
    st.norm_clipped = control_.after(i, st.grad_norm);
    ++iteration_;
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
}

// Trajectories from the current fine-tuned model (no tape), the adjoint
// backwards, then the regression loss on the chosen steps.
Var<float> FineTuner::adjoint_matching(IterationStats& st) {
    std::vector<Mat<float>> traj;
    {
        ag::NoGrad no_tape;
        if (cfg_.philox_noise) {
            const std::uint64_t key = philox_key(seed_, std::uint64_t(iteration_));
            Mat<float> x0 = zeros<float>(cfg_.batch, model_.dim());
            flow::fill_philox(x0, key, 0);
            flow::sample_sde(model_, grid_, std::move(x0), flow::philox_noise(key), &traj);
        } else {
            flow::sample_sde(model_, grid_, rng_.normal<float>(cfg_.batch, model_.dim()), rng_, &traj);
        }
    }
    Mat<float> r;
    const Mat<float> aK = terminal_adjoint(reward_, cfg_.lambda, traj.back(), &r);
    st.reward_mean = xt::mean(r)();
    const Adjoint adj = cfg_.method == Method::AM ? bootstrapped_lean_adjoint(model_, grid_, traj, aK,
                                                                              iteration_ >= cfg_.bootstrap.from_iteration
                                                                                  ? cfg_.bootstrap
                                                                                  : Bootstrap{})
                                                  : full_adjoint(model_, grid_, traj, aK);
    LossInfo info;
    Var<float> loss = adjoint_matching_loss(model_, grid_, traj, adj,
                                            cfg_.loss_steps.choose(int(grid_.size()), rng_), cfg_.clip, &info,
                                            cfg_.weighting);
    st.clipped_fraction = info.clipped_fraction;
    return loss;
}

Var<float> FineTuner::backprop_through_time(IterationStats& st) {
    const Mat<float> x0 = rng_.normal<float>(cfg_.batch, model_.dim());
    std::vector<Mat<float>> eps;
    for (std::size_t k = 0; k < grid_.size(); ++k) eps.push_back(rng_.normal<float>(cfg_.batch, model_.dim()));
    std::vector<Var<float>> states;
    Var<float> loss = bptt_loss(model_, grid_, x0, eps, reward_, cfg_.lambda, &states);
    st.reward_mean = xt::mean(reward_.value(states.back().value()))();
    return loss;
}

// One step X_{k+1} = c X_k + d v_ft + s eps on the tape.
namespace {
Var<float> tape_step(const FineTunedModel& m, const flow::Step& s, const Var<float>& x, Rng& rng) {
    Var<float> v = m.forward(x, float(s.t0));
    return x * float(s.c) + v * float(s.d) + Var<float>(rng.normal<float>(x.rows(), x.cols()) * float(s.s));
}
}  // namespace

Var<float> FineTuner::draft(IterationStats& st) {
    const std::size_t K = grid_.size(), first_on_tape = K - std::size_t(cfg_.draft_k);
    Mat<float> x = rng_.normal<float>(cfg_.batch, model_.dim());
    {
        ag::NoGrad no_tape;
        for (std::size_t k = 0; k < first_on_tape; ++k) x = tape_step(model_, grid_[k], Var<float>(x), rng_).value();
    }
    Var<float> xv(x);
    for (std::size_t k = first_on_tape; k < K; ++k) xv = tape_step(model_, grid_[k], xv, rng_);
    Var<float> r = reward_.forward(xv);
    st.reward_mean = xt::mean(r.value())();
    return ag::mean(r) * float(-cfg_.lambda);
}

Var<float> FineTuner::refl(IterationStats& st) {
    const std::size_t K = grid_.size(), stop = std::size_t(rng_.below(K));
    Mat<float> x = rng_.normal<float>(cfg_.batch, model_.dim());
    {
        ag::NoGrad no_tape;
        for (std::size_t k = 0; k < stop; ++k) x = tape_step(model_, grid_[k], Var<float>(x), rng_).value();
    }
    // CondOT one-step denoiser: E[X_1 | X_t = x] = x + (1 - t) v(x, t)
    const float t = float(grid_[stop].t0);
    Var<float> x1_hat = Var<float>(x) + model_.forward(Var<float>(x), t) * (1.0f - t);
    Var<float> r = reward_.forward(x1_hat);
    st.reward_mean = xt::mean(r.value())();
    return ag::mean(r) * float(-cfg_.lambda);
}

}  // namespace am::finetune
