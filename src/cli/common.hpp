// What the amflow subcommands share: loading a velocity field from
// --model / --mixture, the time grid from --schedule / --scheme / --steps,
// drawing samples, and the peak-memory figure.
// Design: docs/design.md#command-line
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "data/images.hpp"
#include "data/mixture.hpp"
#include "finetune/model.hpp"
#include "finetune/tilt.hpp"
#include "finetune/trainer.hpp"
#include "flow/exact_fields.hpp"
#include "flow/flow_matching.hpp"
#include "flow/sampler.hpp"
#include "flow/schedule.hpp"
#include "nn/checkpoint.hpp"
#include "nn/classifier.hpp"

namespace am::cli {

// The engine a subcommand runs on (--backend): the autograd reference, or the
// Thrust engine (src/device/: OpenMP on the CPU, or CUDA in a CUDA=1 build).
enum class Backend { Autograd, Thrust };
// "autograd" | "thrust", else a one-line am::Error (also for thrust in a CUDA build without a GPU).
Backend parse_backend(const std::string& name);
std::string backend_name(Backend b);             // "autograd" | "thrust (omp)" | "thrust (cuda)"

// The images a network was trained on (checkpoint metadata "data",
// "image_rows", "image_cols"; pixels in model space [-1, 1], data/images.hpp).
struct ImageShape {
    int rows = 0, cols = 0;
    std::string data;  // the --data spec it was trained on: mnist | idx:DIR
};
std::optional<ImageShape> image_of_checkpoint(const nn::Checkpoint& ck);
// Writes the image metadata into a checkpoint.
void put_image_meta(nn::Checkpoint& ck, const ImageShape& im);

// A PNG grid of samples in model space ([-1, 1]; clamped), ncol per row.
void save_image_grid(const std::string& path, const Mat<float>& x, const ImageShape& im, int ncol,
                     const std::string& title);

// The image shape of a data set (its --data spec included).
ImageShape image_shape_of(const data::ImageData& d);

// The MNIST classifier of the reward (bench/WORKLOADS.md:
// Linear(784, 256), SiLU, Linear(256, 10)) trained on the training split of
// `d`, and its accuracy on the held-out split.
struct TrainedClassifier {
    nn::MLP<float> net;
    double train_loss = 0, test_accuracy = 0, seconds = 0;
};
TrainedClassifier train_image_classifier(const data::ImageData& d, Index hidden, const nn::ClassifierConfig& cfg,
                                         std::uint64_t seed);
// Its checkpoint (kind "mlp", metadata: data, accuracy, steps, seed).
void save_classifier(const std::string& path, const TrainedClassifier& c, const data::ImageData& d,
                     const nn::ClassifierConfig& cfg, std::uint64_t seed);

// Flow matching (CondOT, flow::train_flow_matching) of a velocity network on
// the training images of `d` (model space [-1, 1]), minibatches drawn with
// replacement. Returns the moving average of the weights (cfg.ema_decay = 0:
// the last iterate). image_flow_config(): the MNIST settings, 16000 steps of
// 128, Adam lr 1e-3 along a cosine to 1e-4, EMA 0.999, a progress line every 15 s.
flow::FlowMatchingConfig image_flow_config();
struct ImageFlowResult {
    nn::VelocityMLP<float> ema;
    double final_loss = 0, seconds = 0;
};
ImageFlowResult pretrain_image_flow(nn::VelocityMLP<float>& net, const data::ImageData& d,
                                    const flow::FlowMatchingConfig& cfg, Rng& rng, Backend backend,
                                    const flow::Schedule& path = flow::CondOT());
// Its checkpoint: the EMA network with the image metadata and the settings.
void save_image_flow(const std::string& file, const ImageFlowResult& r, const data::ImageData& d,
                     const flow::FlowMatchingConfig& cfg, std::uint64_t seed,
                     const flow::Schedule& path = flow::CondOT());

// A velocity field named on the command line, with everything it owns:
//   --model CKPT        a trained network (pretrain), or a fine-tuned one
//                       (finetune: a network copy, or a mixture + residual)
//   --mixture SPEC      the exact velocity of a Gaussian mixture: "ring" or a
//                       JSON file
// on its path (--path condot | vp): a checkpoint records the path it was
// trained on (metadata "path"; none: condot) and refuses another; a mixture's
// exact field is formed on the path asked for (none: condot).
class LoadedField {
public:
    static LoadedField from_options(const std::string& model_path, const std::string& mixture_spec,
                                    const std::string& path_option = "");

    // The field to sample (the fine-tuned one when there is one).
    const flow::VelocityField& field() const;
    // The base of a fine-tuned residual model, else the field itself.
    const flow::VelocityField& base() const { return *base_; }
    // The probability path the field belongs to (samplers, step grids, fine-tuning use it).
    const flow::Schedule& path() const { return *path_; }
    std::shared_ptr<const flow::Schedule> path_ptr() const { return path_; }
    // The network, when the field is one (pretrain / a fine-tuned copy).
    nn::VelocityMLP<float>* network() const { return net_.get(); }
    // The mixture the field is exact for, or that the network was trained on.
    const std::optional<data::GaussianMixture>& mixture() const { return mixture_; }
    // The images the network was trained on, if it was (MNIST).
    const std::optional<ImageShape>& image() const { return image_; }
    std::string describe() const { return description_; }

    LoadedField() = default;
    LoadedField(LoadedField&&) = default;
    LoadedField& operator=(LoadedField&&) = default;

private:
    std::unique_ptr<nn::VelocityMLP<float>> net_;
    std::shared_ptr<const flow::Schedule> path_;
    std::optional<data::GaussianMixture> mixture_;
    std::unique_ptr<flow::VelocityField> base_;
    std::unique_ptr<finetune::FineTunedModel> finetuned_;
    std::optional<ImageShape> image_;
    std::string description_;
};

// --path: "condot" (alpha = t, beta = 1 - t) | "vp" (cosine variance preserving,
// flow::VPCosine), else a one-line am::Error; path_option_name is its inverse.
std::shared_ptr<const flow::Schedule> parse_path_option(const std::string& name);
std::string path_option_name(const flow::Schedule& path);
// The path a checkpoint's network was trained on (metadata "path"; absent: condot).
std::string path_of_checkpoint(const nn::Checkpoint& ck);

// "ring" -> the default ring; anything else is a mixture JSON file.
data::GaussianMixture load_mixture_spec(const std::string& spec);

// The data a pretrained checkpoint was trained on, if it was a mixture
// ("ring" or "mixture:PATH"), from its metadata.
std::optional<data::GaussianMixture> mixture_of_checkpoint(const nn::Checkpoint& ck);

// The sampler's step grid on `path` for --schedule (ode | memoryless | constant:S),
// --scheme (exact | paper | offset; paper and offset: CondOT only) and K = --steps.
flow::StepGrid make_grid(const flow::Schedule& path, const std::string& schedule, const std::string& scheme, int K);

// The sampler of --schedule (ode | memoryless | constant:S), --scheme, K = --steps
// and --ode-method (euler | heun), validated on `path` (flow::draw_samples draws with it).
flow::SamplerSettings sampler_settings(const flow::Schedule& path, const std::string& schedule,
                                       const std::string& scheme, int K, const std::string& ode_method = "heun");

// A model fine-tuned on top of a LoadedField's field: a copy of its network,
// or (for an exact field) the field plus a residual network.
std::unique_ptr<finetune::FineTunedModel> make_finetuned(const LoadedField& base, Index width, Index depth,
                                                         Rng& rng);

// flow::train_flow_matching on the chosen engine (device::train_flow_matching for thrust).
flow::TrainLog train_flow(Backend backend, nn::VelocityMLP<float>& net, const flow::Schedule& schedule,
                          const std::function<Mat<float>(Index, Rng&)>& data, const flow::FlowMatchingConfig& cfg,
                          Rng& rng, nn::VelocityMLP<float>* ema);

// Runs `iters` iterations, printing a progress line every `report_every`
// (0: never) to stderr. Returns the mean seconds per iteration.
struct FineTuneSummary {
    double seconds_per_iter = 0;
    double peak_rss_mb = 0;
    finetune::IterationStats last;
};
// iterate() is one iteration of either engine (FineTuner::iterate, device::AMTrainer::iterate).
FineTuneSummary run_finetuning(const std::function<finetune::IterationStats()>& iterate, long iters,
                               long report_every, const std::string& label);

// The checkpoint of a fine-tuned model, which `--model` loads back (with the
// base's mixture in its metadata when there is one), and its saving.
nn::Checkpoint finetuned_checkpoint(const finetune::FineTunedModel& ft, const LoadedField& base);
void save_finetuned(const std::string& path, const finetune::FineTunedModel& ft, const LoadedField& base);

// Peak resident memory of this process since it started or since the last
// reset_peak_rss(), MiB.
double peak_rss_mb();
void reset_peak_rss();
// Resident memory now, MiB.
double current_rss_mb();

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
constexpr double kMaxSigma = 100;           // --schedule constant:SIGMA
CLI::Validator seed_value();                // --seed: [0, 2^63 - 1]

// A combination that cannot mean anything: --ode-method given with an SDE
// --schedule (it would be ignored), and --loss-steps last:N with N > K.
void check_ode_method(const CLI::App& cmd, const std::string& schedule);
void check_loss_steps(const std::string& spec, int K);

}  // namespace am::cli
