// exp and the logistic sigmoid for the hot loops (SiLU forward and backward).
//
// std::exp is a library call the compiler cannot vectorise; this one is
// plain arithmetic, so `#pragma omp simd` loops over it become AVX code.
// Method (as in Cephes' expf): exp(x) = 2^n exp(r), n = round(x / ln 2),
// r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in two parts for accuracy),
// exp(r) by a degree-6 polynomial, 2^n by writing the exponent bits.
// Relative error below 2e-7 over the float range (tests/test_autograd.cpp).
// The double versions are std::exp: gradient checks stay exact.
// HOST_DEVICE: the device functors (src/device/functors.hpp) use the same exp.
// Design: docs/design.md#core
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/host_device.hpp"

namespace am {

HOST_DEVICE inline float fast_exp(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);  // 2^n stays a normal float
    const float n = std::nearbyint(x * 1.44269504088896341f);
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const std::int32_t bits = (std::int32_t(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
HOST_DEVICE inline double fast_exp(double x) { return std::exp(x); }

// 1 / (1 + exp(-x))
template <class T>
HOST_DEVICE inline T sigmoid(T x) {
    return T(1) / (T(1) + fast_exp(-x));
}

}  // namespace am
