// The image recipes (MNIST or any IDX folder): the image metadata of a
// checkpoint, the reward classifier, the image flow model's pretraining and
// their checkpoints, and PNG grids of samples. Used by amflow pretrain /
// train-classifier / mnist-demo; notebook 05 calls the same library pieces.
// Design: docs/design.md#recipes
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "data/images.hpp"
#include "flow/flow_matching.hpp"
#include "flow/path.hpp"
#include "nn/checkpoint.hpp"
#include "nn/classifier.hpp"
#include "nn/mlp.hpp"
#include "recipes/training.hpp"

namespace am::recipes {

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
// the last iterate). The MNIST settings: finetune::pretrain_image_preset().
struct ImageFlowResult {
    nn::VelocityMLP<float> ema;
    double final_loss = 0, seconds = 0;
};
ImageFlowResult pretrain_image_flow(nn::VelocityMLP<float>& net, const data::ImageData& d,
                                    const flow::FlowMatchingConfig& cfg, Rng& rng, Backend backend,
                                    const flow::Path& path = flow::CondOT());
// Its checkpoint: the EMA network with the image metadata and the settings.
void save_image_flow(const std::string& file, const ImageFlowResult& r, const data::ImageData& d,
                     const flow::FlowMatchingConfig& cfg, std::uint64_t seed,
                     const flow::Path& path = flow::CondOT());

}  // namespace am::recipes
