// Model <-> checkpoint (nn/checkpoint.hpp): the layer sizes are checked
// against the tensors (checkpoint_layer_sizes) before a model is allocated.
// Design: docs/design.md#networks
#include "nn/checkpoint.hpp"

namespace am::nn {

namespace {
template <class T>
void put_parameters(Checkpoint& ck, const std::vector<Var<T>>& ps) {
    for (std::size_t i = 0; i < ps.size(); ++i) {
        const std::string name = (i % 2 ? "b" : "W") + std::to_string(i / 2);
        ck.tensors.emplace_back(name, xt::cast<float>(ps[i].value()));
    }
}
std::string join_sizes(const std::vector<Index>& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
    return out;
}
}  // namespace

template <class T>
void load_parameters(const Checkpoint& ck, const std::vector<Var<T>>& params, const std::string& where) {
    AM_CHECK(ck.tensors.size() == params.size(),
             where + ": checkpoint has " + std::to_string(ck.tensors.size()) +
                 " tensors, the model has " + std::to_string(params.size()));
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& [name, t] = ck.tensors[i];
        AM_CHECK(t.shape() == params[i].value().shape(),
                 where + ": tensor '" + name + "' has shape " + shape_str(t) + ", the model expects " +
                     shape_str(params[i].value()));
        Var<T> p = params[i];
        p.value() = xt::cast<T>(t);
    }
}

template <class T>
Checkpoint to_checkpoint(const MLP<T>& m) {
    Checkpoint ck;
    ck.kind = "mlp";
    ck.meta["sizes"] = join_sizes(m.sizes());
    ck.meta["activation"] = activation_name(m.activation());
    put_parameters(ck, m.parameters());
    return ck;
}

template <class T>
Checkpoint to_checkpoint(const VelocityMLP<T>& m) {
    Checkpoint ck;
    ck.kind = "velocity_mlp";
    ck.meta["dim"] = std::to_string(m.dim());
    ck.meta["width"] = std::to_string(m.width());
    ck.meta["depth"] = std::to_string(m.depth());
    if (m.time_features() > 0) ck.meta["time_features"] = std::to_string(m.time_features());
    if (m.output() != VelocityOutput::Velocity) ck.meta["output"] = velocity_output_name(m.output());
    put_parameters(ck, m.parameters());
    return ck;
}

template <class T>
MLP<T> mlp_from_checkpoint(const Checkpoint& ck) {
    AM_CHECK(ck.kind == "mlp", ck.source + " holds a '" + ck.kind + "', expected an 'mlp'");
    Rng rng(0);
    MLP<T> m(checkpoint_layer_sizes(ck), parse_activation(ck.get("activation")), rng);
    load_parameters(ck, m.parameters(), ck.source);
    return m;
}

template <class T>
VelocityMLP<T> velocity_mlp_from_checkpoint(const Checkpoint& ck) {
    AM_CHECK(ck.kind == "velocity_mlp", ck.source + " holds a '" + ck.kind + "', expected a 'velocity_mlp'");
    const std::vector<Index> sizes = checkpoint_layer_sizes(ck);  // the shapes, before anything is allocated
    Rng rng(0);
    const Index d = ck.get_int("dim"), time_features = (sizes.front() - d - 1) / 2;  // in(0) = d + 1 + 2F
    const VelocityOutput output =
        ck.meta.count("output") ? parse_velocity_output(ck.get("output")) : VelocityOutput::Velocity;
    VelocityMLP<T> m(d, ck.get_int("width"), ck.get_int("depth"), rng, time_features, output);
    load_parameters(ck, m.parameters(), ck.source);
    return m;
}

#define AM_INSTANTIATE_CKPT(T)                                                                   \
    template Checkpoint to_checkpoint(const MLP<T>&);                                            \
    template Checkpoint to_checkpoint(const VelocityMLP<T>&);                                    \
    template MLP<T> mlp_from_checkpoint(const Checkpoint&);                                      \
    template VelocityMLP<T> velocity_mlp_from_checkpoint(const Checkpoint&);                     \
    template void load_parameters(const Checkpoint&, const std::vector<Var<T>>&, const std::string&);

AM_INSTANTIATE_CKPT(float)
AM_INSTANTIATE_CKPT(double)

}  // namespace am::nn
