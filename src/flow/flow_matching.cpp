// Design: docs/design.md#flow-matching
#include "flow/flow_matching.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>

namespace am::flow {

namespace {

// X_t = alpha_t x1 + beta_t x0 and the target velocity alpha_dot_t x1 + beta_dot_t x0,
// row by row: x1, x0 (B, d), t (B, 1) -> xt, target (B, d).
void interpolate(const Path& schedule, const Mat<float>& x1, const Mat<float>& x0, const Mat<float>& t,
                 Mat<float>& xt, Mat<float>& target) {
    const Index B = rows(x1), d = cols(x1);
    xt = Mat<float>::from_shape(x1.shape());
    target = Mat<float>::from_shape(x1.shape());
    for (Index i = 0; i < B; ++i) {
        const double ti = t(i, 0);
        const float a = float(schedule.alpha(ti)), b = float(schedule.beta(ti));
        const float da = float(schedule.alpha_dot(ti)), db = float(schedule.beta_dot(ti));
        for (Index j = 0; j < d; ++j) {
            xt(i, j) = a * x1(i, j) + b * x0(i, j);
            target(i, j) = da * x1(i, j) + db * x0(i, j);
        }
    }
}

}  // namespace

ag::Var<float> flow_matching_loss(const nn::VelocityMLP<float>& net, const Path& schedule,
                                  const Mat<float>& x1, const Mat<float>& x0, const Mat<float>& t) {
    AM_CHECK(x1.shape() == x0.shape() && rows(t) == rows(x1) && cols(t) == 1,
             "flow_matching_loss: expected x1, x0 (B, d) and t (B, 1), got " + shape_str(x1) + ", " +
                 shape_str(x0) + ", " + shape_str(t));
    Mat<float> xt, target;
    interpolate(schedule, x1, x0, t, xt, target);
    return ag::mean(ag::square(net.forward(ag::Var<float>(xt), ag::Var<float>(t)) - ag::Var<float>(target)));
}

HeldOutLoss evaluate_flow_matching_loss(const nn::VelocityMLP<float>& net, const Path& schedule,
                                        const Mat<float>& x1, int repeats, std::uint64_t seed) {
    AM_CHECK(repeats > 0 && rows(x1) > 0 && cols(x1) == net.dim(),
             "evaluate_flow_matching_loss: expected data (n, " + std::to_string(net.dim()) +
                 ") and repeats > 0, got " + shape_str(x1));
    ag::NoGrad no_tape;
    Rng rng(seed);
    const Index n = rows(x1), d = cols(x1), chunk = 256;
    double sum = 0, sum_q[4] = {0, 0, 0, 0};
    Index count_q[4] = {0, 0, 0, 0};
    for (int r = 0; r < repeats; ++r) {
        for (Index i0 = 0; i0 < n; i0 += chunk) {
            const Index B = std::min(chunk, n - i0);
            const Mat<float> x1b = xt::view(x1, xt::range(i0, i0 + B), xt::all());
            const Mat<float> x0 = rng.normal<float>(B, d);
            const Mat<float> t = rng.uniform<float>(B, 1);
            Mat<float> xt, target;
            interpolate(schedule, x1b, x0, t, xt, target);
            const Mat<float> v = net.forward(ag::Var<float>(xt), ag::Var<float>(t)).value();
            for (Index i = 0; i < B; ++i) {
                double e = 0;
                for (Index j = 0; j < d; ++j) e += double(v(i, j) - target(i, j)) * double(v(i, j) - target(i, j));
                e /= double(d);
                const int q = std::min(3, int(4 * t(i, 0)));
                sum += e;
                sum_q[q] += e;
                ++count_q[q];
            }
        }
    }
    HeldOutLoss out;
    out.draws = n * repeats;
    out.mean = sum / double(out.draws);
    for (int q = 0; q < 4; ++q) out.by_time[q] = count_q[q] ? sum_q[q] / double(count_q[q]) : 0.0;
    return out;
}

FlowMatchingTrainer::FlowMatchingTrainer(nn::VelocityMLP<float>& net, const Path& schedule,
                                         std::function<Mat<float>(Index, Rng&)> data, Index batch,
                                         nn::AdamConfig adam)
    : net_(net), schedule_(schedule), data_(std::move(data)), batch_(batch), adam_(net.parameters(), adam) {
    AM_CHECK(batch > 0, "flow matching: the batch must be positive");
}

double FlowMatchingTrainer::step(Rng& rng) {
    const Mat<float> x1 = data_(batch_, rng);
    AM_CHECK(rows(x1) == batch_ && cols(x1) == net_.dim(),
             "flow matching: the data gave " + shape_str(x1) + ", expected (" + std::to_string(batch_) +
                 ", " + std::to_string(net_.dim()) + ")");
    const Mat<float> x0 = rng.normal<float>(batch_, net_.dim());
    const Mat<float> t = rng.uniform<float>(batch_, 1);
    ag::Var<float> loss = flow_matching_loss(net_, schedule_, x1, x0, t);
    const double value = loss.item();
    nn::check_finite_value(value, "loss", adam_.steps_taken() + 1, "flow matching");
    adam_.zero_grad();
    ag::backward(loss);
    adam_.step("flow matching");
    return value;
}

TrainLog train_flow_matching(nn::VelocityMLP<float>& net, const Path& schedule,
                             const std::function<Mat<float>(Index, Rng&)>& data,
                             const FlowMatchingConfig& cfg, Rng& rng, nn::VelocityMLP<float>* ema) {
    AM_CHECK(cfg.steps > 0 && cfg.batch > 0 && cfg.log_every > 0,
             "flow matching: steps, batch and log interval must be positive");
    AM_CHECK(cfg.ema_decay >= 0 && cfg.ema_decay < 1, "flow matching: the EMA decay must be in [0, 1)");
    const auto params = net.parameters();
    std::vector<ag::Var<float>> ema_params;
    if (ema && cfg.ema_decay > 0) {
        ema_params = ema->parameters();
        AM_CHECK(ema_params.size() == params.size(), "flow matching: the EMA network is not shaped like the network");
        for (std::size_t i = 0; i < params.size(); ++i)
            AM_CHECK(ema_params[i].value().shape() == params[i].value().shape(),
                     "flow matching: the EMA network is not shaped like the network");
    }
    FlowMatchingTrainer trainer(net, schedule, data, cfg.batch, cfg.adam);
    FlowMatchingLoop loop;
    loop.step = [&trainer](Rng& r, double lr) {
        trainer.optimizer().config().lr = lr;
        return trainer.step(r);
    };
    if (!ema_params.empty())
        loop.ema = [&](float decay) {
            for (std::size_t i = 0; i < params.size(); ++i) {
                float* e = ema_params[i].value().data();
                const float* p = params[i].value().data();
                const std::size_t m = params[i].value().size();
                for (std::size_t j = 0; j < m; ++j) e[j] += (1.0f - decay) * (p[j] - e[j]);
            }
        };
    return run_flow_matching(cfg, rng, loop);
}

TrainLog run_flow_matching(const FlowMatchingConfig& cfg, Rng& rng, const FlowMatchingLoop& loop) {
    AM_CHECK(cfg.steps > 0 && cfg.batch > 0 && cfg.log_every > 0,
             "flow matching: steps, batch and log interval must be positive");
    TrainLog log;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto last_print = start;
    double acc = 0;
    long acc_n = 0;
    AM_CHECK(cfg.lr_final_fraction > 0 && cfg.lr_final_fraction <= 1,
             "flow matching: lr_final_fraction must be in (0, 1]");
    const double pi = std::acos(-1.0);
    for (long s = 1; s <= cfg.steps; ++s) {
        const double progress = cfg.steps > 1 ? double(s - 1) / double(cfg.steps - 1) : 0.0;
        const double f = cfg.lr_final_fraction;
        const double lr = cfg.adam.lr * (f + (1 - f) * 0.5 * (1 + std::cos(pi * progress)));
        const double loss = loop.step(rng, lr);
        if (loop.ema) loop.ema(float(std::min(cfg.ema_decay, (1.0 + double(s)) / (10.0 + double(s)))));
        acc += loss;
        ++acc_n;
        if (s % cfg.log_every == 0 || s == cfg.steps) {
            log.step.push_back(s);
            log.loss.push_back(acc / double(acc_n));
            acc = 0;
            acc_n = 0;
        }
        const auto now = clock::now();
        if (cfg.progress_seconds > 0 &&
            (std::chrono::duration<double>(now - last_print).count() >= cfg.progress_seconds || s == cfg.steps)) {
            const double el = std::chrono::duration<double>(now - start).count();
            const double rate = double(s) / el;
            std::fprintf(stderr, "pretrain: step %ld/%ld  loss %.4f  lr %.2g  %.1f steps/s  %.0f s left\n", s,
                         cfg.steps, log.loss.empty() ? loss : log.loss.back(), lr,
                         rate, double(cfg.steps - s) / rate);
            last_print = now;
        }
    }
    log.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return log;
}

}  // namespace am::flow
