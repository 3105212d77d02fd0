// Adam on the device (see optim.hpp).
// Design: docs/design.md#the-thrust-engine
#include "device/optim.hpp"

#include <cmath>

#include <thrust/execution_policy.h>
#include <thrust/transform_reduce.h>

#include "device/functors.hpp"
#include "device/launch.hpp"

namespace am::device {

double norm2(const float* g, std::size_t n) {
    return std::sqrt(thrust::transform_reduce(thrust::device, g, g + n, Square{}, 0.0, thrust::plus<double>()));
}

std::size_t count_non_finite(const float* w, std::size_t n) {
    return thrust::transform_reduce(thrust::device, w, w + n, NonFinite{}, std::size_t(0),
                                    thrust::plus<std::size_t>());
}

AdamResult adam_step(AdamState& s, float* w, const float* g, std::size_t n) {
    AdamResult res;
    const double norm = norm2(g, n);
    res.grad_norm = norm;
    if (!std::isfinite(norm)) return res;
    if (s.m.size() != n) {
        s.m = Array(n);
        s.v = Array(n);
        s.t = 0;
    }
    const double scale = (s.clip_norm > 0 && norm > s.clip_norm) ? s.clip_norm / norm : 1.0;
    ++s.t;
    AdamUpdate u;
    u.b1 = float(s.beta1);
    u.b2 = float(s.beta2);
    u.c1 = float(1 - std::pow(s.beta1, double(s.t)));
    u.c2 = float(1 - std::pow(s.beta2, double(s.t)));
    u.lr = float(s.lr);
    u.eps = float(s.eps);
    u.decay = float(s.lr * s.weight_decay);
    u.sc = float(scale);
    u.g = g;
    u.m = s.m.data();
    u.v = s.v.data();
    u.w = w;
    for_each_range(n, u);
    res.non_finite = count_non_finite(w, n);
    return res;
}

}  // namespace am::device
