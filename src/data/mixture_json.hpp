// Gaussian mixtures as JSON files: the "mixture:PATH.json" data sets and the
// mixture specs of the experiments.
//
// Format (one of "stds" or "covs"; n components in d dimensions):
//
//   {"weights": [w_1, ..., w_n],            n numbers >= 0, normalised on load
//    "means":   [[m_11, ..., m_1d], ...],   n rows of d numbers
//    "stds":    [s_1, ..., s_n]}            n numbers > 0:  S_k = s_k^2 I
//
//   {"weights": [...], "means": [...],
//    "covs":    [[[S_11, ..., S_1d], ...], ...]}   n symmetric (d, d) matrices
//
// Any other key is an error (it is most likely a typo).
// Design: docs/design.md#data
#pragma once

#include <string>

#include "data/mixture.hpp"

namespace am::data {

// Limits of what a mixture file may ask for: the dimension d, and the
// entries of its n dense d x d covariances (n d^2 doubles: 128 MB).
constexpr Index kMaxMixtureDim = 1024;
constexpr Index kMaxCovarianceEntries = Index(1) << 24;

// Parses `text`; `where` (a file name) prefixes every error message.
// Throws a one-line am::Error naming `where` and the problem: invalid JSON
// (with the parser's message), a missing or unknown key, a wrong length, a
// ragged row, a negative/non-number value, a non-symmetric covariance, or
// whatever GaussianMixture::validate() rejects.
GaussianMixture parse_mixture_json(const std::string& text, const std::string& where);

// Reads and parses the file at `path`.
GaussianMixture load_mixture_json(const std::string& path);

// The JSON text of `mix`: "stds" when every covariance is exactly s^2 I
// (with s^2 recovered exactly from s), "covs" otherwise. Numbers are written with full double precision, so
// parse_mixture_json(mixture_to_json(m)) == m.
std::string mixture_to_json(const GaussianMixture& mix);

// Writes mixture_to_json(mix) to `path`, atomically (PATH.tmp + rename).
void save_mixture_json(const std::string& path, const GaussianMixture& mix);

}  // namespace am::data
