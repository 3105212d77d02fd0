// Design: docs/design.md#flow
#include "flow/velocity_field.hpp"

namespace am::flow {

ag::Var<float> VelocityField::forward(const ag::Var<float>& x, float t) const {
    AM_CHECK(x.cols() == dim(), "velocity field of dimension " + std::to_string(dim()) +
                                    " applied to x of shape " + shape_str(x.value()));
    // backward: g_x = J^T g_v, the field's own vector-Jacobian product
    return ag::make_op<float>(velocity(x.value(), t), {x}, "velocity_field",
                              [this, t](ag::Node<float>& o) {
                                  ag::Node<float>& p = *o.parents[0];
                                  ag::accumulate(p, vjp(p.value, t, o.grad));
                              });
}

}  // namespace am::flow
