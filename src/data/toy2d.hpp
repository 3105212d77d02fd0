// The 2-D toy data sets of the pictures: Gaussian mixtures (the default ring
// or any mixture JSON file) and the usual checkerboard, two moons and
// spirals. Every sampler is driven by an am::Rng, so a seed fixes the data.
// All sets lie roughly in [-4, 4]^2.
// Design: docs/design.md#data
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "core/tensor.hpp"
#include "data/mixture.hpp"

namespace am::data {

// Uniform on the 8 dark squares of a 4 x 4 board of 2 x 2 squares covering
// [-4, 4]^2 (a square (i, j) is dark when i + j is even). (n, 2).
Mat<float> sample_checkerboard(Index n, Rng& rng);

// Two interleaving half circles (scikit-learn's make_moons), centred and
// scaled by 2.5: x in about [-3.8, 3.8], y in about [-2, 2]; Gaussian noise
// of std 0.25 after scaling. Half the points on each moon. (n, 2).
Mat<float> sample_moons(Index n, Rng& rng);

// Two interleaved Archimedean spirals r = theta, theta in [0, 3 pi]
// (theta = 3 pi sqrt(u), i.e. uniform along the area), the second the first
// rotated by pi, scaled by 1/3 (radius up to about 3.2), Gaussian noise of
// std 0.1. (n, 2).
Mat<float> sample_spirals(Index n, Rng& rng);

// A 2-D data set chosen by name:
//   "ring"          am::data::default_ring(): 8 Gaussians on a circle of radius 4
//   "checkerboard", "moons", "spirals"
//   "mixture:PATH"  the Gaussian mixture of the JSON file PATH (mixture_json.hpp),
//                   which must be 2-D
class Dataset2D {
public:
    // Throws am::Error listing the valid names for an unknown one, or the
    // problem with the mixture file.
    explicit Dataset2D(const std::string& name);

    const std::string& name() const { return name_; }

    // n samples, (n, 2).
    Mat<float> sample(Index n, Rng& rng) const;

    // The mixture behind "ring" and "mixture:PATH" (those have an exact
    // velocity field and a closed-form reward tilt), nullptr for the others.
    const GaussianMixture* mixture() const { return mixture_.get(); }

    // "ring", "checkerboard", "moons", "spirals", "mixture:PATH.json".
    static std::vector<std::string> names();

private:
    std::string name_;
    std::shared_ptr<const GaussianMixture> mixture_;
};

// Dataset2D(name).sample(n, rng).
Mat<float> sample_dataset(const std::string& name, Index n, Rng& rng);

}  // namespace am::data
