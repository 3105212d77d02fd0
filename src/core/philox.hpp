// Counter-based Gaussian noise: Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the Random123
// library), stateless.
//
//   philox4x32_10(counter c (4 x uint32), key k (2 x uint32)) -> 4 x uint32:
//   ten rounds of  (c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2),
//                                        hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)),
//   M0 = 0xD2511F53, M1 = 0xCD9E8D57, the key bumped by (0x9E3779B9,
//   0xBB67AE85) between rounds.
//
// noise(seed, i, k, j) is the N(0, 1) draw of trajectory i, time step k,
// coordinate j: a pure function of its four arguments, so the CPU and the
// GPU builds, and the reference and the device engines, draw the same
// numbers in any order. One Philox call gives the block of four coordinates
// 4 (j / 4) .. 4 (j / 4) + 3:
//
//   counter = (j / 4, k, i mod 2^32, i / 2^32),  key = (seed mod 2^32, seed / 2^32),
//   uniforms u = ((r >> 8) + 1/2) 2^-24 in (0, 1)  (r one 32-bit output),
//   Box-Muller: z0 = sqrt(-2 log u0) cos(2 pi u1), z1 = sqrt(-2 log u0) sin(2 pi u1),
//               z2, z3 the same from (u2, u3).
//
// Checked against the Random123 known-answer vectors and for mean 0,
// variance 1 (tests/test_device.cpp).
// Design: docs/design.md#counter-based-noise
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.hpp"

namespace am {

struct Philox4 {
    std::uint32_t v[4];
};

HOST_DEVICE inline void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                       std::uint32_t& lo) {
    const std::uint64_t p = std::uint64_t(a) * std::uint64_t(b);
    hi = std::uint32_t(p >> 32);
    lo = std::uint32_t(p);
}

// The Philox4x32 bijection with 10 rounds (Random123's philox4x32_R(10, ...)).
HOST_DEVICE inline Philox4 philox4x32_10(Philox4 c, std::uint32_t k0, std::uint32_t k1) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        std::uint32_t hi0, lo0, hi1, lo1;
        philox_mulhilo(0xD2511F53u, c.v[0], hi0, lo0);
        philox_mulhilo(0xCD9E8D57u, c.v[2], hi1, lo1);
        c = Philox4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    }
    return c;
}

// A 32-bit output to a uniform in (0, 1): the top 24 bits, centred, exact in float.
HOST_DEVICE inline float philox_uniform(std::uint32_t r) {
    return (float(r >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// The four N(0, 1) draws of coordinates 4 jb .. 4 jb + 3 of trajectory i, step k.
HOST_DEVICE inline void noise4(std::uint64_t seed, std::uint64_t i, std::uint32_t k, std::uint32_t jb,
                               float z[4]) {
    const Philox4 r = philox4x32_10(Philox4{{jb, k, std::uint32_t(i), std::uint32_t(i >> 32)}},
                                    std::uint32_t(seed), std::uint32_t(seed >> 32));
    const float two_pi = 6.28318530717958648f;
    for (int p = 0; p < 2; ++p) {
        const float radius = sqrtf(-2.0f * logf(philox_uniform(r.v[2 * p])));
        const float angle = two_pi * philox_uniform(r.v[2 * p + 1]);
        z[2 * p] = radius * cosf(angle);
        z[2 * p + 1] = radius * sinf(angle);
    }
}

// The key of one iteration's noise: the seed's low 32 bits and the iteration
// (the thrust engine and FineTuner's Philox mode draw iteration n's noise with it).
HOST_DEVICE inline std::uint64_t philox_key(std::uint64_t seed, std::uint64_t iteration) {
    return (iteration << 32) | (seed & 0xFFFFFFFFu);
}

// The N(0, 1) draw of trajectory i, time step k, coordinate j.
HOST_DEVICE inline float noise(std::uint64_t seed, std::uint64_t i, std::uint32_t k, std::uint32_t j) {
    float z[4];
    noise4(seed, i, k, j / 4, z);
    return z[j % 4];
}

}  // namespace am
