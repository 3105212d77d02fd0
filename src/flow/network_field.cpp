// Design: docs/design.md#flow
#include "flow/network_field.hpp"

namespace am::flow {

ag::Var<float> NetworkVelocity::forward(const ag::Var<float>& x, float t) const {
    return net_.forward(x, ag::Var<float>(full<float>(x.rows(), 1, t)));
}

Mat<float> NetworkVelocity::velocity(const Mat<float>& x, float t) const {
    ag::NoGrad no_tape;
    return forward(ag::Var<float>(x), t).value();
}

Mat<float> NetworkVelocity::vjp(const Mat<float>& x, float t, const Mat<float>& cot,
                                Mat<float>* v_out) const {
    return ag::vjp<float>([&](const ag::Var<float>& xv) { return forward(xv, t); }, x, cot, v_out);
}

}  // namespace am::flow
