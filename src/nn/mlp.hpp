// Networks: Linear, a plain MLP, and the velocity network of
// bench/WORKLOADS.md:
//
//   VelocityMLP(d, H, L):  concat(x, t) -> Linear(d+1, H), SiLU,
//                          (L-1) x [Linear(H, H), SiLU], Linear(H, d)
//   VelocityMLP(d, H, L, F): the same on concat(x, t, phi(t)), Linear(d+1+2F, H),
//                          phi(t) = (sin(w_0 t), cos(w_0 t), ..., sin(w_{F-1} t),
//                          cos(w_{F-1} t)),  w_k = pi 2^k  (time features)
//
// What the last layer's output D(x, t) means (VelocityOutput):
//   velocity   v(x, t) = D(x, t)
//   data       D is the denoiser E[X_1 | X_t = x] of the CondOT path and
//              v(x, t) = (D(x, t) - x) / max(1 - t, kDataGapMin)
//              (x-prediction: the network outputs a clean image, which lies near
//              the data's low-dimensional set, instead of a velocity that
//              carries the noise X_0 in all d coordinates)
//
// Parameters are autograd leaves (requires_grad = true); an optimiser updates
// their values in place.
// Design: docs/design.md#networks
#pragma once

#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "core/random.hpp"

namespace am::nn {

using ag::Var;

enum class Activation { SiLU, Tanh, ReLU };
Activation parse_activation(const std::string& name);  // "silu" | "tanh" | "relu"
std::string activation_name(Activation a);

// y = x W + b;  x (N, in), W (in, out), b (1, out).
// Initialised like PyTorch's nn.Linear: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
template <class T>
struct Linear {
    Var<T> W, b;
    Linear() = default;
    Linear(Index in, Index out, Rng& rng);
    Var<T> operator()(const Var<T>& x) const { return ag::linear(x, W, b); }
    Index in() const { return W.rows(); }
    Index out() const { return W.cols(); }
};

// sizes = {in, h1, ..., out}: Linear, act, Linear, act, ..., Linear (no
// activation after the last layer).
template <class T>
class MLP {
public:
    MLP() = default;
    MLP(const std::vector<Index>& sizes, Activation act, Rng& rng);

    Var<T> forward(const Var<T>& x) const;           // (N, in) -> (N, out)
    std::vector<Var<T>> parameters() const;          // W0, b0, W1, b1, ...
    const std::vector<Index>& sizes() const { return sizes_; }
    Activation activation() const { return act_; }
    std::size_t num_parameters() const;
    const std::vector<Linear<T>>& layers() const { return layers_; }

    // A model with the same architecture and a copy of the parameter values
    // (new leaves: updating one leaves the other unchanged).
    MLP clone() const;

private:
    std::vector<Index> sizes_;
    Activation act_ = Activation::SiLU;
    std::vector<Linear<T>> layers_;
};

enum class VelocityOutput { Velocity, Data };
VelocityOutput parse_velocity_output(const std::string& name);  // "velocity" | "data"
std::string velocity_output_name(VelocityOutput o);
constexpr double kDataGapMin = 0.05;  // the smallest 1 - t a data-output network divides by
constexpr Index kMaxTimeFeatures = 24;  // F <= this (w_{F-1} = pi 2^{F-1})

// The velocity network v_theta(x, t) of flow matching.
template <class T>
class VelocityMLP {
public:
    VelocityMLP() = default;
    // d: data dimension, width H, depth L (number of hidden layers), F time
    // features (0: t enters as one input; see the top of this file).
    VelocityMLP(Index d, Index width, Index depth, Rng& rng, Index time_features = 0,
                VelocityOutput output = VelocityOutput::Velocity);

    // x (N, d), t (N, 1) -> v (N, d). With time features t must be a constant
    // of the graph (no gradient flows to t).
    Var<T> forward(const Var<T>& x, const Var<T>& t) const;
    std::vector<Var<T>> parameters() const { return net_.parameters(); }
    std::size_t num_parameters() const { return net_.num_parameters(); }
    Index dim() const { return d_; }
    Index width() const { return width_; }
    Index depth() const { return depth_; }
    Index time_features() const { return time_features_; }
    VelocityOutput output() const { return output_; }
    const MLP<T>& mlp() const { return net_; }
    VelocityMLP clone() const;

private:
    Index d_ = 0, width_ = 0, depth_ = 0, time_features_ = 0;
    VelocityOutput output_ = VelocityOutput::Velocity;
    MLP<T> net_;
};

// The network's input beside x: t and phi(t) (N, 1 + 2F), as in the top of this file.
template <class T>
Mat<T> time_inputs(const Mat<T>& t, Index time_features);

// trainable = false makes the parameters constants of the graph (a frozen
// base model): no op records them, so no weight gradient is ever formed.
template <class T>
void set_trainable(const std::vector<Var<T>>& params, bool trainable);
// Whether no parameter of the list is trainable.
template <class T>
bool is_frozen(const std::vector<Var<T>>& params);
// Freezes a network (MLP, VelocityMLP) where it is built and owned: a
// fine-tuned model's base network and a reward's classifier are frozen by the
// code that builds them (their constructors check it and refuse a trainable one).
template <class Net>
void freeze(Net& net) {
    set_trainable(net.parameters(), false);
}

// Copies the parameter values of `from` into `to` (same architecture).
template <class T>
void copy_parameters(const std::vector<Var<T>>& from, const std::vector<Var<T>>& to);

}  // namespace am::nn
