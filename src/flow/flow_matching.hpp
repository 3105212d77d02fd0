// Flow matching (Lipman et al. 2023) on the affine path X_t = alpha_t X1 + beta_t X0:
//   X_t = alpha_t X1 + beta_t X0,  target velocity alpha_dot_t X1 + beta_dot_t X0
// (CondOT: X_t = t X1 + (1 - t) X0, target X1 - X0), and its training loop.
// Design: docs/design.md#flow-matching
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "flow/path.hpp"
#include "nn/mlp.hpp"
#include "nn/optim.hpp"

namespace am::flow {

// Mean over all entries of (v_theta(X_t, t) - target)^2.
// x1: data (B, d), x0: noise (B, d), t: times (B, 1).
ag::Var<float> flow_matching_loss(const nn::VelocityMLP<float>& net, const Path& schedule,
                                  const Mat<float>& x1, const Mat<float>& x0, const Mat<float>& t);

// The flow-matching loss of `net` on fixed data, without a tape: every row of
// x1 (n, d) is paired with `repeats` draws of noise x0 ~ N(0, I) and time
// t ~ U(0, 1) from `seed`, so two networks are compared on the same draws.
// With x1 the held-out split it says whether a model memorises (training loss
// well below this) or under-fits (both high). by_time[q] is the mean over the
// draws with t in [q/4, (q+1)/4): where in t the error sits.
struct HeldOutLoss {
    double mean = 0;
    double by_time[4] = {0, 0, 0, 0};
    Index draws = 0;
};
HeldOutLoss evaluate_flow_matching_loss(const nn::VelocityMLP<float>& net, const Path& schedule,
                                        const Mat<float>& x1, int repeats, std::uint64_t seed);

struct FlowMatchingConfig {
    long steps = 5000;
    Index batch = 1024;
    nn::AdamConfig adam{1e-3};
    // Cosine decay of the learning rate over the run, from adam.lr at the first
    // step to adam.lr * lr_final_fraction at the last:
    //   lr_s = lr (f + (1 - f) (1 + cos(pi (s - 1) / (steps - 1))) / 2).
    // The late, small steps average out the minibatch noise in the weights
    // (on the ring: mode-weight TV of the trained model about halves). 1: constant.
    double lr_final_fraction = 0.05;
    // Exponential moving average of the weights, kept when train_flow_matching
    // is given an `ema` network (0: none). After step s
    //   ema <- ema + (1 - d_s) (theta - ema),  d_s = min(ema_decay, (1 + s) / (10 + s)),
    // the usual warm-up, so that the random initial weights fade fast.
    double ema_decay = 0;
    long log_every = 100;     // a loss-log entry every this many steps
    double progress_seconds = 2.0;  // a progress line at most this often (0: never)
};

struct TrainLog {
    std::vector<long> step;
    std::vector<double> loss;  // mean of the losses since the previous entry
    double seconds = 0;
    double final_loss() const { return loss.empty() ? 0.0 : loss.back(); }
};

// One training step at a time (the benchmark times exactly this).
class FlowMatchingTrainer {
public:
    FlowMatchingTrainer(nn::VelocityMLP<float>& net, const Path& schedule,
                        std::function<Mat<float>(Index, Rng&)> data, Index batch, nn::AdamConfig adam);
    // A batch of data, noise and times; the loss; backward; one Adam step. Returns the loss.
    double step(Rng& rng);
    nn::Adam<float>& optimizer() { return adam_; }

private:
    nn::VelocityMLP<float>& net_;
    const Path& schedule_;
    std::function<Mat<float>(Index, Rng&)> data_;
    Index batch_;
    nn::Adam<float> adam_;
};

// The training loop of train_flow_matching, for either engine (the thrust
// engine's twin is device::train_flow_matching): the cosine learning-rate
// schedule, the EMA's warm-up, the loss log and the progress lines.
// step(rng, lr) takes one optimisation step at learning rate lr and returns
// its loss; ema(decay), when set, updates the moving average of the weights.
struct FlowMatchingLoop {
    std::function<double(Rng&, double lr)> step;
    std::function<void(float decay)> ema;
};
TrainLog run_flow_matching(const FlowMatchingConfig& cfg, Rng& rng, const FlowMatchingLoop& loop);

// Trains net on batches from `data` (n, rng) -> (n, d), x0 ~ N(0, I), t ~ U(0, 1).
// With `ema` (a network of net's shape, usually net.clone()) and
// cfg.ema_decay > 0, ema holds the moving average of net's weights afterwards.
// Prints a progress line (step, loss, lr, steps/s, time left) to stderr at
// most every cfg.progress_seconds.
TrainLog train_flow_matching(nn::VelocityMLP<float>& net, const Path& schedule,
                             const std::function<Mat<float>(Index, Rng&)>& data,
                             const FlowMatchingConfig& cfg, Rng& rng, nn::VelocityMLP<float>* ema = nullptr);

}  // namespace am::flow
