// Optimisers over a list of parameter leaves. Each step reads the leaves'
// grad() (filled by ag::backward), updates their values in place, and the
// caller clears the gradients with zero_grad() before the next backward.
// Design: docs/design.md#networks
#pragma once

#include <string>
#include <vector>

#include "autograd/engine.hpp"

namespace am::nn {

using ag::Var;

template <class T>
void zero_grad(const std::vector<Var<T>>& params);

// The divergence check of every training loop: throws am::Error
//   "WHO: iteration N: the QUANTITY is VALUE (the run diverged)"
// unless `value` is finite (VALUE printed with %g: nan, inf, 3e+20).
void check_finite_value(double value, const std::string& quantity, long iteration, const std::string& who);

// The divergence check after an update: throws am::Error
//   "WHO: iteration N: the update made the weights non-finite (WHERE; the run diverged)"
// where WHERE names the first such weight ("parameter k entry i is VALUE").
// (The Thrust engine's trainers, src/device/trainer.cpp, call it too.)
[[noreturn]] void throw_non_finite_weights(const std::string& who, long iteration, const std::string& where);

// The first non-finite entry of the parameters, as "parameter k entry i is
// VALUE", or "" when all are finite.
template <class T>
std::string first_non_finite(const std::vector<Var<T>>& params);

// Global L2 norm of all gradients (parameters without a gradient count as 0).
template <class T>
double grad_norm(const std::vector<Var<T>>& params);

struct AdamConfig {
    double lr = 1e-3;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double weight_decay = 0;   // decoupled (AdamW): p -= lr * weight_decay * p
    double clip_norm = 0;      // > 0: scale the gradients so their global norm is at most this
};

// Adam with bias correction (Kingma & Ba, Algorithm 1), t = 1, 2, ...:
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
template <class T>
class Adam {
public:
    Adam(std::vector<Var<T>> params, AdamConfig cfg);
    // One update (iteration steps_taken() + 1). Returns the gradient norm
    // before clipping. Throws am::Error naming `who`, the iteration and the
    // value (check_finite_value) if the gradient norm is NaN or infinite,
    // before changing anything, or if the update made a weight non-finite.
    double step(const std::string& who = "Adam");
    void zero_grad() { nn::zero_grad(params_); }
    long steps_taken() const { return t_; }
    AdamConfig& config() { return cfg_; }

private:
    std::vector<Var<T>> params_;
    AdamConfig cfg_;
    std::vector<Mat<T>> m_, v_;
    long t_ = 0;
};

// Plain SGD with optional momentum: b = mu b + g, p -= lr b.
template <class T>
class SGD {
public:
    SGD(std::vector<Var<T>> params, double lr, double momentum = 0);
    double step(const std::string& who = "SGD");  // as Adam::step
    void zero_grad() { nn::zero_grad(params_); }

private:
    std::vector<Var<T>> params_;
    double lr_, momentum_;
    std::vector<Mat<T>> buf_;
    long t_ = 0;
};

}  // namespace am::nn
