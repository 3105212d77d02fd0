// Networks: Linear, a plain MLP, and the velocity network of
// bench/WORKLOADS.md:
//
//   VelocityMLP(d, H, L):  concat(x, t) -> Linear(d+1, H), SiLU,
//                          (L-1) x [Linear(H, H), SiLU], Linear(H, d)
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

// The velocity network v_theta(x, t) of flow matching.
template <class T>
class VelocityMLP {
public:
    VelocityMLP() = default;
    // d: data dimension, width H, depth L (number of hidden layers).
    VelocityMLP(Index d, Index width, Index depth, Rng& rng);

    // x (N, d), t (N, 1) -> v (N, d).
    Var<T> forward(const Var<T>& x, const Var<T>& t) const;
    std::vector<Var<T>> parameters() const { return net_.parameters(); }
    std::size_t num_parameters() const { return net_.num_parameters(); }
    Index dim() const { return d_; }
    Index width() const { return width_; }
    Index depth() const { return depth_; }
    const MLP<T>& mlp() const { return net_; }
    VelocityMLP clone() const;

private:
    Index d_ = 0, width_ = 0, depth_ = 0;
    MLP<T> net_;
};

// trainable = false makes the parameters constants of the graph (a frozen
// base model): no op records them, so no weight gradient is ever formed.
template <class T>
void set_trainable(const std::vector<Var<T>>& params, bool trainable);

// Copies the parameter values of `from` into `to` (same architecture).
template <class T>
void copy_parameters(const std::vector<Var<T>>& from, const std::vector<Var<T>>& to);

}  // namespace am::nn
