// Velocity fields as the programs name them: a checkpoint (a pretrained
// network, a fine-tuned copy, a mixture + residual) or an exact mixture, on
// its path (--path condot | vp); the model fine-tuned on top of one, and its
// checkpoint.
// Design: docs/design.md#recipes
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "data/mixture.hpp"
#include "finetune/model.hpp"
#include "flow/exact_fields.hpp"
#include "flow/network_field.hpp"
#include "flow/path.hpp"
#include "flow/sampler.hpp"
#include "nn/checkpoint.hpp"
#include "recipes/images.hpp"

namespace am::recipes {

// A velocity field named on the command line, with everything it owns:
//   --model CKPT        a trained network (pretrain), or a fine-tuned one
//                       (finetune: a network copy, or a mixture + residual)
//   --mixture SPEC      the exact velocity of a Gaussian mixture: "ring" or a
//                       JSON file
// on its path (--path condot | vp). A network it loads is frozen (nn::freeze):
// it is the base of sampling and fine-tuning, never trained. A checkpoint records the path it was
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
    const flow::Path& path() const { return *path_; }
    std::shared_ptr<const flow::Path> path_ptr() const { return path_; }
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
    std::shared_ptr<const flow::Path> path_;
    std::optional<data::GaussianMixture> mixture_;
    std::unique_ptr<flow::VelocityField> base_;
    std::unique_ptr<finetune::FineTunedModel> finetuned_;
    std::optional<ImageShape> image_;
    std::string description_;
};

// --path: "condot" (alpha = t, beta = 1 - t) | "vp" (cosine variance preserving,
// flow::VPCosine), else a one-line am::Error; path_option_name is its inverse.
std::shared_ptr<const flow::Path> parse_path_option(const std::string& name);
std::string path_option_name(const flow::Path& path);
// The path a checkpoint's network was trained on (metadata "path"; absent: condot).
std::string path_of_checkpoint(const nn::Checkpoint& ck);

// "ring" -> the default ring; anything else is a mixture JSON file.
data::GaussianMixture load_mixture_spec(const std::string& spec);

// The data a pretrained checkpoint was trained on, if it was a mixture
// ("ring" or "mixture:PATH"), from its metadata.
std::optional<data::GaussianMixture> mixture_of_checkpoint(const nn::Checkpoint& ck);

// A model fine-tuned on top of a LoadedField's field: a copy of its network,
// or (for an exact field) the field plus a residual network.
std::unique_ptr<finetune::FineTunedModel> make_finetuned(const LoadedField& base, Index width, Index depth,
                                                         Rng& rng);

// The checkpoint of a fine-tuned model, which `--model` loads back (with the
// base's mixture in its metadata when there is one), and its saving.
nn::Checkpoint finetuned_checkpoint(const finetune::FineTunedModel& ft, const LoadedField& base);
void save_finetuned(const std::string& path, const finetune::FineTunedModel& ft, const LoadedField& base);

// The largest sigma of --noise constant:SIGMA.
constexpr double kMaxSigma = 100;

// The sampler's step grid on `path` for --noise (ode | memoryless | constant:S),
// --scheme (exact | paper | offset; paper and offset: CondOT only) and K = --steps.
flow::StepGrid make_grid(const flow::Path& path, const std::string& noise, const std::string& scheme, int K);

// The sampler of --noise (ode | memoryless | constant:S), --scheme, K = --steps
// and --ode-method (euler | heun), validated on `path` (flow::draw_samples draws with it).
flow::SamplerSettings sampler_settings(const flow::Path& path, const std::string& noise,
                                       const std::string& scheme, int K, const std::string& ode_method = "heun");

}  // namespace am::recipes
