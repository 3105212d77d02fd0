// The one interface every velocity field implements: the trained network,
// the exact velocity of a Gaussian mixture, the exact 1-D Gaussian velocity.
// Samplers and adjoints only ever see this.
//
// Conventions (docs/design.md#conventions): t in [0, 1], t = 0 noise, t = 1 data; the flow
// ODE is dX/dt = v(X, t).
// Design: docs/design.md#flow
#pragma once

#include "autograd/engine.hpp"
#include "core/tensor.hpp"

namespace am::flow {

class VelocityField {
public:
    virtual ~VelocityField() = default;

    // Dimension d of the data.
    virtual Index dim() const = 0;

    // v(x, t). x: (N, d), one time t for every row -> (N, d).
    virtual Mat<float> velocity(const Mat<float>& x, float t) const = 0;

    // Vector-Jacobian product: row n of the result is cot_n^T (dv/dx)(x_n, t),
    // i.e. (J^T cot) per row. x, cot: (N, d) -> (N, d).
    // If v_out is given, v(x, t) is written there too (one pass for both).
    virtual Mat<float> vjp(const Mat<float>& x, float t, const Mat<float>& cot,
                           Mat<float>* v_out = nullptr) const = 0;

    // v(x, t) as an autograd op, so that backpropagation through a sampler
    // (BPTT) can pass through any field. The default wraps velocity() for the
    // forward and vjp() for the backward; a network overrides it to put its
    // own layers on the tape.
    virtual ag::Var<float> forward(const ag::Var<float>& x, float t) const;
};

}  // namespace am::flow
