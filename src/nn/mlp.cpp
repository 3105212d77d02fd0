// Design: docs/design.md#networks
#include "nn/mlp.hpp"

#include <cmath>

namespace am::nn {

Activation parse_activation(const std::string& name) {
    if (name == "silu") return Activation::SiLU;
    if (name == "tanh") return Activation::Tanh;
    if (name == "relu") return Activation::ReLU;
    throw Error("unknown activation '" + name + "' (expected silu, tanh or relu)");
}

std::string activation_name(Activation a) {
    switch (a) {
        case Activation::SiLU: return "silu";
        case Activation::Tanh: return "tanh";
        case Activation::ReLU: return "relu";
    }
    return "?";
}

template <class T>
Linear<T>::Linear(Index in, Index out, Rng& rng) {
    AM_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got " + std::to_string(in) + " -> " +
                                    std::to_string(out));
    const double bound = 1.0 / std::sqrt(double(in));
    Mat<T> w = zeros<T>(in, out), bias = zeros<T>(1, out);
    for (auto& v : w) v = T((2 * rng.uniform() - 1) * bound);
    for (auto& v : bias) v = T((2 * rng.uniform() - 1) * bound);
    W = Var<T>(std::move(w), true);
    b = Var<T>(std::move(bias), true);
}

template <class T>
MLP<T>::MLP(const std::vector<Index>& sizes, Activation act, Rng& rng) : sizes_(sizes), act_(act) {
    AM_CHECK(sizes.size() >= 2, "MLP: needs at least an input and an output size");
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) layers_.emplace_back(sizes[i], sizes[i + 1], rng);
}

template <class T>
Var<T> MLP<T>::forward(const Var<T>& x) const {
    AM_CHECK(!layers_.empty(), "MLP: forward on an empty network");
    AM_CHECK(x.cols() == sizes_.front(), "MLP: input has " + std::to_string(x.cols()) +
                                             " columns, the network expects " +
                                             std::to_string(sizes_.front()));
    Var<T> h = x;
    for (std::size_t i = 0; i + 1 < layers_.size(); ++i) {
        const Linear<T>& l = layers_[i];
        switch (act_) {
            case Activation::SiLU: h = ag::linear_silu(h, l.W, l.b); break;  // fused silu(linear)
            case Activation::Tanh: h = ag::tanh(l(h)); break;
            case Activation::ReLU: h = ag::relu(l(h)); break;
        }
    }
    return layers_.back()(h);
}

template <class T>
std::vector<Var<T>> MLP<T>::parameters() const {
    std::vector<Var<T>> ps;
    for (const auto& l : layers_) {
        ps.push_back(l.W);
        ps.push_back(l.b);
    }
    return ps;
}

template <class T>
std::size_t MLP<T>::num_parameters() const {
    std::size_t n = 0;
    for (const auto& p : parameters()) n += p.value().size();
    return n;
}

template <class T>
MLP<T> MLP<T>::clone() const {
    MLP<T> m;
    m.sizes_ = sizes_;
    m.act_ = act_;
    for (const auto& l : layers_) {
        Linear<T> c;
        c.W = Var<T>(l.W.value(), true);
        c.b = Var<T>(l.b.value(), true);
        m.layers_.push_back(std::move(c));
    }
    return m;
}

template <class T>
VelocityMLP<T>::VelocityMLP(Index d, Index width, Index depth, Rng& rng, Index time_features, VelocityOutput output)
    : d_(d), width_(width), depth_(depth), time_features_(time_features), output_(output) {
    AM_CHECK(d > 0 && width > 0 && depth > 0,
             "VelocityMLP: dimension, width and depth must be positive");
    AM_CHECK(time_features >= 0 && time_features <= kMaxTimeFeatures,
             "VelocityMLP: time features must be in 0.." + std::to_string(kMaxTimeFeatures) + ", got " +
                 std::to_string(time_features));
    std::vector<Index> sizes{d + 1 + 2 * time_features};
    for (Index i = 0; i < depth; ++i) sizes.push_back(width);
    sizes.push_back(d);
    net_ = MLP<T>(sizes, Activation::SiLU, rng);
}

template <class T>
Var<T> VelocityMLP<T>::forward(const Var<T>& x, const Var<T>& t) const {
    AM_CHECK(x.cols() == d_ && t.cols() == 1 && t.rows() == x.rows(),
             "VelocityMLP: expected x (N, " + std::to_string(d_) + ") and t (N, 1), got x " +
                 shape_str(x.value()) + " and t " + shape_str(t.value()));
    Var<T> out;
    if (time_features_ == 0) {
        out = net_.forward(ag::concat_cols<T>({x, t}));
    } else {
        AM_CHECK(!t.requires_grad(), "VelocityMLP: with time features, t cannot be differentiated");
        out = net_.forward(ag::concat_cols<T>({x, Var<T>(time_inputs(t.value(), time_features_))}));
    }
    if (output_ == VelocityOutput::Velocity) return out;
    // v = (D - x) / max(1 - t, kDataGapMin)
    AM_CHECK(!t.requires_grad(), "VelocityMLP: with a data output, t cannot be differentiated");
    Mat<T> inv_gap = xt::zeros<T>({t.value().shape(0), std::size_t(1)});
    for (std::size_t i = 0; i < inv_gap.shape(0); ++i)
        inv_gap(i, 0) = T(1.0 / std::max(1.0 - double(t.value()(i, 0)), kDataGapMin));
    return ag::mul(ag::sub(out, x), Var<T>(std::move(inv_gap)));
}

VelocityOutput parse_velocity_output(const std::string& name) {
    if (name == "velocity") return VelocityOutput::Velocity;
    if (name == "data") return VelocityOutput::Data;
    throw Error("unknown network output '" + name + "': expected velocity or data");
}

std::string velocity_output_name(VelocityOutput o) { return o == VelocityOutput::Data ? "data" : "velocity"; }

template <class T>
Mat<T> time_inputs(const Mat<T>& t, Index time_features) {
    Mat<T> out = xt::zeros<T>({t.shape(0), std::size_t(1 + 2 * time_features)});
    for (std::size_t i = 0; i < t.shape(0); ++i) {
        const double ti = double(t(i, 0));
        out(i, 0) = T(ti);
        double w = M_PI;
        for (Index k = 0; k < time_features; ++k, w *= 2) {
            out(i, std::size_t(1 + 2 * k)) = T(std::sin(w * ti));
            out(i, std::size_t(2 + 2 * k)) = T(std::cos(w * ti));
        }
    }
    return out;
}

template <class T>
VelocityMLP<T> VelocityMLP<T>::clone() const {
    VelocityMLP<T> m;
    m.d_ = d_;
    m.width_ = width_;
    m.depth_ = depth_;
    m.time_features_ = time_features_;
    m.output_ = output_;
    m.net_ = net_.clone();
    return m;
}

template <class T>
void copy_parameters(const std::vector<Var<T>>& from, const std::vector<Var<T>>& to) {
    AM_CHECK(from.size() == to.size(), "copy_parameters: the models have different numbers of tensors");
    for (std::size_t i = 0; i < from.size(); ++i) {
        AM_CHECK(from[i].value().shape() == to[i].value().shape(),
                 "copy_parameters: tensor " + std::to_string(i) + " has shape " +
                     shape_str(from[i].value()) + " vs " + shape_str(to[i].value()));
        Var<T> dst = to[i];
        dst.value() = from[i].value();
    }
}

template <class T>
void set_trainable(const std::vector<Var<T>>& params, bool trainable) {
    for (const auto& p : params) p.node->requires_grad = trainable;
}

template <class T>
bool is_frozen(const std::vector<Var<T>>& params) {
    for (const auto& p : params)
        if (p.node->requires_grad) return false;
    return true;
}

template struct Linear<float>;
template struct Linear<double>;
template class MLP<float>;
template class MLP<double>;
template class VelocityMLP<float>;
template class VelocityMLP<double>;
template Mat<float> time_inputs(const Mat<float>&, Index);
template Mat<double> time_inputs(const Mat<double>&, Index);
template void copy_parameters(const std::vector<Var<float>>&, const std::vector<Var<float>>&);
template void set_trainable(const std::vector<Var<float>>&, bool);
template void set_trainable(const std::vector<Var<double>>&, bool);
template bool is_frozen(const std::vector<Var<float>>&);
template bool is_frozen(const std::vector<Var<double>>&);
template void copy_parameters(const std::vector<Var<double>>&, const std::vector<Var<double>>&);

}  // namespace am::nn
