// Design: docs/design.md#data
#include "data/toy2d.hpp"

#include <cmath>

#include "data/mixture_json.hpp"

namespace am::data {

Mat<float> sample_checkerboard(Index n, Rng& rng) {
    Mat<float> x = zeros<float>(n, 2);
    for (Index p = 0; p < n; ++p) {
        const auto i = Index(rng.below(4));
        const auto j = 2 * Index(rng.below(2)) + i % 2;  // i + j even
        x(p, 0) = float(-4.0 + 2.0 * (double(i) + rng.uniform()));
        x(p, 1) = float(-4.0 + 2.0 * (double(j) + rng.uniform()));
    }
    return x;
}

Mat<float> sample_moons(Index n, Rng& rng) {
    const double scale = 2.5, noise = 0.1;
    Mat<float> x = zeros<float>(n, 2);
    for (Index p = 0; p < n; ++p) {
        const double t = M_PI * rng.uniform();
        // Outer moon: upper half circle; inner moon: lower one, shifted.
        const bool outer = p % 2 == 0;
        const double mx = outer ? std::cos(t) : 1.0 - std::cos(t);
        const double my = outer ? std::sin(t) : 0.5 - std::sin(t);
        // Centre the pair ((-1, 2) x (-0.5, 1) -> symmetric) and scale.
        x(p, 0) = float(scale * (mx - 0.5 + noise * rng.normal()));
        x(p, 1) = float(scale * (my - 0.25 + noise * rng.normal()));
    }
    return x;
}

Mat<float> sample_spirals(Index n, Rng& rng) {
    const double noise = 0.1;
    Mat<float> x = zeros<float>(n, 2);
    for (Index p = 0; p < n; ++p) {
        const double theta = 3.0 * M_PI * std::sqrt(rng.uniform());
        const double sign = p % 2 == 0 ? 1.0 : -1.0;  // second arm: rotated by pi
        x(p, 0) = float(sign * theta * std::cos(theta) / 3.0 + noise * rng.normal());
        x(p, 1) = float(sign * theta * std::sin(theta) / 3.0 + noise * rng.normal());
    }
    return x;
}

namespace {
constexpr char kMixturePrefix[] = "mixture:";
}

Dataset2D::Dataset2D(const std::string& name) : name_(name) {
    if (name == "ring") {
        mixture_ = std::make_shared<GaussianMixture>(default_ring());
    } else if (name.rfind(kMixturePrefix, 0) == 0) {
        auto mix = load_mixture_json(name.substr(sizeof(kMixturePrefix) - 1));
        AM_CHECK(mix.dim() == 2, "data set " + name + ": the mixture is " +
                                     std::to_string(mix.dim()) + "-D, a 2-D data set needs 2-D");
        mixture_ = std::make_shared<GaussianMixture>(std::move(mix));
    } else if (name != "checkerboard" && name != "moons" && name != "spirals") {
        std::string valid;
        for (const auto& v : names()) valid += (valid.empty() ? "" : ", ") + v;
        throw Error("unknown 2-D data set \"" + name + "\"; valid: " + valid);
    }
}

Mat<float> Dataset2D::sample(Index n, Rng& rng) const {
    if (mixture_) return mixture_->sample(n, rng);
    if (name_ == "checkerboard") return sample_checkerboard(n, rng);
    if (name_ == "moons") return sample_moons(n, rng);
    return sample_spirals(n, rng);
}

std::vector<std::string> Dataset2D::names() {
    return {"ring", "checkerboard", "moons", "spirals", std::string(kMixturePrefix) + "PATH.json"};
}

Mat<float> sample_dataset(const std::string& name, Index n, Rng& rng) {
    return Dataset2D(name).sample(n, rng);
}

}  // namespace am::data
