// What the amflow subcommands share beyond the recipes of src/recipes/ (the
// loaded fields and the sampler settings of --noise / --scheme / --steps, the
// training loops, the image recipes): the options' validation.
// Design: docs/design.md#command-line
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "finetune/evaluation.hpp"
#include "finetune/tilt.hpp"
#include "flow/sampler.hpp"
#include "recipes/images.hpp"
#include "recipes/models.hpp"
#include "recipes/training.hpp"

namespace am::cli {

// The recipes (src/recipes/) by their plain names in the subcommands.
using namespace am::recipes;

// A one-line error for an option that must be positive.
void require_positive(double v, const std::string& option);

// Validators of numeric options (CLI11 runs them on the text before it
// converts it): the whole text must be a number of the option's type inside
// the documented range, else "--opt: must be an integer in [1, 100000], got
// 99999999999999999999". Integers refuse "1e3" and "-1" where the range
// starts at 0 (a --seed of -1 would wrap); reals refuse nan and inf.
CLI::Validator integer_in(long lo, long hi);
CLI::Validator real_in(double lo, double hi, bool open_lo = false, bool open_hi = false);

// The documented ranges shared by several subcommands.
constexpr long kMaxSamplerSteps = 100000;   // --steps K of a sampler
constexpr long kMaxIterations = 100000000;  // --iters, training --steps
constexpr long kMaxBatch = 1000000;         // --batch, --n, --eval-n
constexpr long kMaxWidth = 65536;           // --width, --hidden
constexpr long kMaxDepth = 64;              // --depth
constexpr double kMaxLambda = 1000;         // |--lambda|
CLI::Validator seed_value();                // --seed: [0, 2^63 - 1]

// A combination that cannot mean anything: --ode-method given with an SDE
// --noise (it would be ignored), and --loss-steps last:N with N > K.
void check_ode_method(const CLI::App& cmd, const std::string& noise);
void check_loss_steps(const std::string& spec, int K);

}  // namespace am::cli