// The trained velocity network as a VelocityField.
// Design: docs/design.md#flow
#pragma once

#include "flow/velocity_field.hpp"
#include "nn/mlp.hpp"

namespace am::flow {

// v(x, t) = net(concat(x, t)). Holds a reference: the network must outlive it.
class NetworkVelocity : public VelocityField {
public:
    explicit NetworkVelocity(const nn::VelocityMLP<float>& net) : net_(net) {}

    Index dim() const override { return net_.dim(); }
    Mat<float> velocity(const Mat<float>& x, float t) const override;
    // One forward on the tape and one backward with respect to x only (no
    // weight-gradient products are formed).
    Mat<float> vjp(const Mat<float>& x, float t, const Mat<float>& cot,
                   Mat<float>* v_out = nullptr) const override;
    ag::Var<float> forward(const ag::Var<float>& x, float t) const override;

    const nn::VelocityMLP<float>& net() const { return net_; }

private:
    const nn::VelocityMLP<float>& net_;
};

}  // namespace am::flow
