// Design: docs/design.md#the-thrust-engine
#include "device/trainer.hpp"

#include <chrono>
#include <cmath>

#include "core/philox.hpp"
#include "device/bridge.hpp"

namespace am::device {

std::vector<StepCoef> step_coefficients(const flow::StepGrid& grid) {
    std::vector<StepCoef> out;
    for (const flow::Step& s : grid)
        out.push_back(StepCoef{float(s.t_net), float(s.c), float(s.d), float(s.s), float(s.t1 - s.t0)});
    return out;
}

AMTrainer::AMTrainer(const nn::VelocityMLP<float>& base, const nn::VelocityMLP<float>& ft,
                     const finetune::Reward& reward, flow::StepGrid grid, finetune::FineTuneConfig cfg,
                     std::uint64_t seed)
    : m_(layout_of(base)), reward_(reward), grid_(std::move(grid)), coef_(step_coefficients(grid_)), cfg_(cfg),
      seed_(seed), rng_(seed) {
    require_device();
    AM_CHECK(cfg.method == finetune::Method::AM,
             "thrust backend: fine-tuning method '" + finetune::method_name(cfg.method) +
                 "' needs the autograd backend (thrust runs am only)");
    const MLPLayout mf = layout_of(ft);
    AM_CHECK(mf.d == m_.d && mf.width == m_.width && mf.depth == m_.depth,
             "thrust backend: the fine-tuned network is not shaped like the base");
    AM_CHECK(reward.dim() == base.dim(), "fine-tuning: the reward is " + std::to_string(reward.dim()) +
                                             "-D, the model " + std::to_string(base.dim()) + "-D");
    AM_CHECK(cfg.batch > 0, "fine-tuning: the batch must be positive");
    AM_CHECK(!grid_.empty(), "fine-tuning: the time grid has no steps");
    AM_CHECK(std::isfinite(cfg.lambda), "fine-tuning: lambda must be a finite number");
    upload_parameters(base, base_);
    upload_parameters(ft, ft_);
    grad_.resize(m_.size());
    adam_.lr = cfg.adam.lr;
    adam_.beta1 = cfg.adam.beta1;
    adam_.beta2 = cfg.adam.beta2;
    adam_.eps = cfg.adam.eps;
    adam_.weight_decay = cfg.adam.weight_decay;
    adam_.clip_norm = cfg.adam.clip_norm;
}

finetune::IterationStats AMTrainer::iterate() {
    const auto t0 = std::chrono::steady_clock::now();
    finetune::IterationStats st;
    const int B = int(cfg_.batch), d = m_.d;
    const std::size_t K = grid_.size(), block = std::size_t(B) * d;
    const std::uint64_t key = philox_key(seed_, std::uint64_t(iteration_));
    // trajectories of the current fine-tuned model
    sample_trajectories(m_, ft_.data(), coef_, key, 0, B, traj_, buf_);
    // a_K = -lambda grad r(X_K), on the host
    Mat<float> xK = zeros<float>(B, d);
    traj_.download(xK.data(), K * block, block);
    Mat<float> r;
    const Mat<float> aK = finetune::terminal_adjoint(reward_, cfg_.lambda, xK, &r);
    st.reward_mean = xt::mean(r)();
    a_.resize((K + 1) * block);
    a_.write(K * block, aK.data(), block);
    lean_adjoint(m_, base_.data(), coef_, traj_, B, a_, v_base_, buf_);
    const LossResult loss = adjoint_matching_loss(m_, ft_.data(), coef_, cfg_.loss_steps.choose(int(K), rng_),
                                                  traj_, a_, v_base_, B, cfg_.clip, grad_.data(), buf_);
    st.loss = loss.loss;
    st.clipped_fraction = loss.clipped_fraction;
    AM_CHECK(std::isfinite(st.loss), "fine-tuning (am, thrust): the loss is NaN or infinite: the run diverged "
                                     "(try a smaller learning rate, a loss clip, or more steps)");
    st.grad_norm = adam_step(adam_, ft_.data(), grad_.data(), m_.size(), "Adam");
    ++iteration_;
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
}

void AMTrainer::download(nn::VelocityMLP<float>& net) const { download_parameters(ft_, net); }

}  // namespace am::device
