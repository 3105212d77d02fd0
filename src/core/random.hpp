// Seeded, reproducible random numbers: the same seed gives the same numbers
// on every platform and compiler (the generator and the transforms are
// written out here, not taken from <random>, whose distributions are
// implementation-defined).
//
// Generator: xoshiro256** (Blackman & Vigna), seeded through splitmix64.
// Normals: Box-Muller, both outputs used.
// Design: docs/design.md#core
#pragma once

#include <cmath>
#include <cstdint>

#include "core/tensor.hpp"

namespace am {

class Rng {
public:
    explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        std::uint64_t z = seed;
        for (auto& s : s_) s = splitmix64(z);
        has_spare_ = false;
    }

    std::uint64_t next_u64() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

    // Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n) { return std::uint64_t(uniform() * double(n)) % n; }

    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = uniform();
        while (u1 <= 0.0) u1 = uniform();
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double th = 2.0 * M_PI * u2;
        spare_ = r * std::sin(th);
        has_spare_ = true;
        return r * std::cos(th);
    }

    template <class T = float>
    Mat<T> normal(Index r, Index c) {
        Mat<T> m = zeros<T>(r, c);
        fill_normal(m);
        return m;
    }
    template <class T = float>
    Mat<T> uniform(Index r, Index c) {
        Mat<T> m = zeros<T>(r, c);
        for (auto& v : m) v = T(uniform());
        return m;
    }
    template <class T>
    void fill_normal(Mat<T>& m) {
        for (auto& v : m) v = T(normal());
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& z) {
        std::uint64_t x = (z += 0x9e3779b97f4a7c15ULL);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
    }
    std::uint64_t s_[4];
    double spare_ = 0.0;
    bool has_spare_ = false;
};

}  // namespace am
