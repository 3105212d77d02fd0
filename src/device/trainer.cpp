// Design: docs/design.md#the-thrust-engine
#include "device/trainer.hpp"

#include <chrono>
#include <cmath>

#include "core/parse.hpp"
#include "core/philox.hpp"
#include "device/bridge.hpp"
#include "nn/optim.hpp"

namespace am::device {

std::vector<StepCoef> step_coefficients(const flow::StepGrid& grid) {
    std::vector<StepCoef> out;
    for (const flow::Step& s : grid)
        out.push_back(StepCoef{float(s.t0), float(s.c), float(s.d), float(s.s), float(s.t1 - s.t0)});
    return out;
}

namespace {
AdamState adam_state(const nn::AdamConfig& c) {
    AdamState s;
    s.lr = c.lr;
    s.beta1 = c.beta1;
    s.beta2 = c.beta2;
    s.eps = c.eps;
    s.weight_decay = c.weight_decay;
    s.clip_norm = c.clip_norm;
    return s;
}
// Adam on the device with the autograd trainers' divergence checks (nn/optim.hpp):
// a non-finite gradient norm stops before the update, a non-finite weight after
// it, naming `who`, the iteration (step s.t + 1) and the first such weight as
// "parameter k entry i" in the order of VelocityMLP::parameters() (W0, b0, W1, ...).
double checked_adam_step(AdamState& s, const MLPLayout& m, Array& w, const Array& g, const std::string& who) {
    const long iteration = s.t + 1;
    const AdamResult r = adam_step(s, w.data(), g.data(), m.size());
    nn::check_finite_value(r.grad_norm, "gradient norm", iteration, who);
    if (r.non_finite == 0) return r.grad_norm;
    const std::vector<float> host = w.to_host();
    std::size_t i = 0;
    while (i < host.size() && std::isfinite(host[i])) ++i;
    std::string where = "a weight is non-finite";
    for (int l = 0, k = 0; l < m.layers() && i < host.size(); ++l, k += 2) {
        if (i < m.b_offset(l))
            where = "parameter " + std::to_string(k) + " entry " + std::to_string(i - m.W_offset(l));
        else if (i < m.W_offset(l + 1))
            where = "parameter " + std::to_string(k + 1) + " entry " + std::to_string(i - m.b_offset(l));
        else
            continue;
        where += " is " + format_number(double(host[i]));
        break;
    }
    nn::throw_non_finite_weights(who, iteration, where);
}
}  // namespace

AMTrainer::AMTrainer(const nn::VelocityMLP<float>& base, const nn::VelocityMLP<float>& ft,
                     const finetune::Reward& reward, flow::StepGrid grid, finetune::FineTuneConfig cfg,
                     std::uint64_t seed)
    : m_(layout_of(base)), reward_(reward), grid_(std::move(grid)), coef_(step_coefficients(grid_)), cfg_(cfg),
      seed_(seed), rng_(seed), adam_(adam_state(cfg.adam)), control_(cfg) {
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
}

finetune::IterationStats AMTrainer::iterate() {
    const auto t0 = std::chrono::steady_clock::now();
    finetune::IterationStats st;
    const int B = int(cfg_.batch), d = m_.d;
    const std::size_t K = grid_.size(), block = std::size_t(B) * d;
    const std::uint64_t key = philox_key(seed_, std::uint64_t(iteration_));
    // the loss steps first (the reference draws them after sampling; no other draw uses rng_), so that
    // the sampler keeps their forwards for the loss; then trajectories of the current fine-tuned model
    const std::vector<int> steps = cfg_.loss_steps.choose(int(K), rng_);
    sample_trajectories(m_, ft_.data(), coef_, key, 0, B, traj_, buf_, steps);
    // a_K = -lambda grad r(X_K), on the host
    Mat<float> xK = zeros<float>(B, d);
    traj_.download(xK.data(), K * block, block);
    Mat<float> r;
    const Mat<float> aK = finetune::terminal_adjoint(reward_, cfg_.lambda, xK, &r);
    st.reward_mean = xt::mean(r)();
    a_.resize((K + 1) * block);
    a_.write(K * block, aK.data(), block);
    lean_adjoint(m_, base_.data(), coef_, traj_, B, a_, v_base_, buf_);
    const LossResult loss =
        adjoint_matching_loss(m_, ft_.data(), coef_, steps, traj_, a_, v_base_, B, cfg_.clip, grad_.data(), buf_);
    st.loss = loss.loss;
    st.clipped_fraction = loss.clipped_fraction;
    // the reference's checks, in its order and words (finetune::FineTuner::iterate)
    const std::string who = "fine-tuning (am)";
    nn::check_finite_value(st.loss, "loss", adam_.t + 1, who);
    nn::check_finite_value(st.reward_mean, "mean reward", adam_.t + 1, who);
    const long i = iteration_ + 1;
    const finetune::StepControl::Settings set = control_.before(i);
    adam_.lr = st.lr = set.lr;
    adam_.clip_norm = set.clip_norm;
    st.grad_norm = checked_adam_step(adam_, m_, ft_, grad_, who);
    st.norm_clipped = control_.after(i, st.grad_norm);
    ++iteration_;
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
}

void AMTrainer::download(const nn::VelocityMLP<float>& net) const { download_parameters(ft_, net); }

FMTrainer::FMTrainer(const nn::VelocityMLP<float>& net, const flow::Path& schedule,
                     std::function<Mat<float>(Index, Rng&)> data, Index batch, nn::AdamConfig adam)
    : m_(layout_of(net)), schedule_(schedule), data_(std::move(data)), batch_(batch), adam_(adam_state(adam)) {
    require_device();
    AM_CHECK(batch > 0, "flow matching: the batch must be positive");
    upload_parameters(net, params_);
    grad_.resize(m_.size());
}

double FMTrainer::step(Rng& rng) {
    const Mat<float> x1 = data_(batch_, rng);
    AM_CHECK(rows(x1) == batch_ && cols(x1) == m_.d,
             "flow matching: the data gave " + shape_str(x1) + ", expected (" + std::to_string(batch_) + ", " +
                 std::to_string(m_.d) + ")");
    const Mat<float> x0 = rng.normal<float>(batch_, m_.d);
    const Mat<float> t = rng.uniform<float>(batch_, 1);
    std::vector<float> coef(std::size_t(batch_) * 4);
    for (Index i = 0; i < batch_; ++i) {  // as flow_matching_loss: the schedule in double, then float
        const double ti = t(i, 0);
        coef[4 * i] = float(schedule_.alpha(ti));
        coef[4 * i + 1] = float(schedule_.beta(ti));
        coef[4 * i + 2] = float(schedule_.alpha_dot(ti));
        coef[4 * i + 3] = float(schedule_.beta_dot(ti));
    }
    upload(x1, buf_.x1);
    upload(x0, buf_.x0);
    upload(t, buf_.t);
    buf_.coef.upload(coef.data(), coef.size());
    const double loss = flow_matching_loss(m_, params_.data(), int(batch_), buf_, grad_.data());
    // the reference's checks (flow::FlowMatchingTrainer::step)
    nn::check_finite_value(loss, "loss", adam_.t + 1, "flow matching");
    checked_adam_step(adam_, m_, params_, grad_, "flow matching");
    return loss;
}

void FMTrainer::download(const nn::VelocityMLP<float>& net) const { download_parameters(params_, net); }

flow::TrainLog train_flow_matching(nn::VelocityMLP<float>& net, const flow::Path& schedule,
                                   const std::function<Mat<float>(Index, Rng&)>& data,
                                   const flow::FlowMatchingConfig& cfg, Rng& rng, nn::VelocityMLP<float>* ema) {
    AM_CHECK(cfg.ema_decay >= 0 && cfg.ema_decay < 1, "flow matching: the EMA decay must be in [0, 1)");
    const bool keep_ema = ema && cfg.ema_decay > 0;
    if (keep_ema) {
        const MLPLayout a = layout_of(net), b = layout_of(*ema);
        AM_CHECK(a.d == b.d && a.width == b.width && a.depth == b.depth,
                 "flow matching: the EMA network is not shaped like the network");
    }
    FMTrainer trainer(net, schedule, data, cfg.batch, cfg.adam);
    Array ema_params;
    if (keep_ema) upload_parameters(*ema, ema_params);
    flow::FlowMatchingLoop loop;
    loop.step = [&trainer](Rng& r, double lr) {
        trainer.optimizer().lr = lr;
        return trainer.step(r);
    };
    if (keep_ema)
        loop.ema = [&](float decay) {
            ema_update(decay, trainer.parameters().data(), ema_params.data(), ema_params.size());
        };
    const flow::TrainLog log = flow::run_flow_matching(cfg, rng, loop);
    trainer.download(net);
    if (keep_ema) download_parameters(ema_params, *ema);
    return log;
}

Mat<float> sample(const nn::VelocityMLP<float>& net, const flow::StepGrid& grid, Index n, std::uint64_t seed,
                  Index batch) {
    require_device();
    AM_CHECK(n > 0, "sample: the number of samples must be positive");
    const MLPLayout m = layout_of(net);
    Array params, out;
    upload_parameters(net, params);
    FineTuneBuffers buf;
    sample(m, params.data(), step_coefficients(grid), philox_key(seed, 0), int(n), int(batch), out, buf);
    return download(out, n, m.d);
}

}  // namespace am::device
