// Design: docs/design.md#recipes
#include "recipes/images.hpp"

#include <chrono>
#include <cmath>

#include "plot/plots.hpp"
#include "recipes/models.hpp"

namespace am::recipes {

std::optional<ImageShape> image_of_checkpoint(const nn::Checkpoint& ck) {
    if (!ck.meta.count("image_rows") || !ck.meta.count("image_cols")) return std::nullopt;
    ImageShape im;
    im.rows = int(ck.get_int("image_rows"));
    im.cols = int(ck.get_int("image_cols"));
    auto d = ck.meta.find("data");
    if (d != ck.meta.end()) im.data = d->second;
    return im;
}

void put_image_meta(nn::Checkpoint& ck, const ImageShape& im) {
    ck.meta["image_rows"] = std::to_string(im.rows);
    ck.meta["image_cols"] = std::to_string(im.cols);
    ck.meta["pixels"] = "2p-1";  // model space: x = 2 p - 1, p = byte / 255
    if (!im.data.empty()) ck.meta["data"] = im.data;
}

ImageShape image_shape_of(const data::ImageData& d) { return {d.rows(), d.cols(), d.spec}; }

TrainedClassifier train_image_classifier(const data::ImageData& d, Index hidden, const nn::ClassifierConfig& cfg,
                                         std::uint64_t seed) {
    AM_CHECK(hidden > 0, "the classifier's hidden width (--hidden) must be positive, got " + std::to_string(hidden));
    Rng rng(seed);
    TrainedClassifier c{nn::MLP<float>({d.dim(), hidden, data::kImageClasses}, nn::Activation::SiLU, rng)};
    const auto t0 = std::chrono::steady_clock::now();
    c.train_loss = nn::train_classifier(c.net, d.train.images, d.train.labels, cfg, rng);
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.test_accuracy = nn::accuracy(c.net, d.test.images, d.test.labels);
    return c;
}

void save_classifier(const std::string& path, const TrainedClassifier& c, const data::ImageData& d,
                     const nn::ClassifierConfig& cfg, std::uint64_t seed) {
    nn::Checkpoint ck = nn::to_checkpoint(c.net);
    put_image_meta(ck, image_shape_of(d));
    ck.meta["test_accuracy"] = std::to_string(c.test_accuracy);
    ck.meta["test_n"] = std::to_string(d.test.labels.size());
    ck.meta["steps"] = std::to_string(cfg.steps);
    ck.meta["batch"] = std::to_string(cfg.batch);
    ck.meta["lr"] = std::to_string(cfg.adam.lr);
    ck.meta["seed"] = std::to_string(seed);
    nn::save_checkpoint(path, ck);
}

ImageFlowResult pretrain_image_flow(nn::VelocityMLP<float>& net, const data::ImageData& d,
                                    const flow::FlowMatchingConfig& cfg, Rng& rng, Backend backend,
                                    const flow::Path& path) {
    AM_CHECK(cfg.steps > 0, "--steps must be positive, got " + std::to_string(cfg.steps));
    AM_CHECK(cfg.batch > 0, "--batch must be positive, got " + std::to_string(cfg.batch));
    AM_CHECK(cfg.adam.lr > 0 && std::isfinite(cfg.adam.lr), "--lr must be positive, got " + std::to_string(cfg.adam.lr));
    AM_CHECK(cfg.ema_decay >= 0 && cfg.ema_decay < 1, "--ema must be in [0, 1)");
    AM_CHECK(net.dim() == d.dim(), "pretrain: the network is " + std::to_string(net.dim()) + "-D, the images " +
                                       std::to_string(d.dim()) + "-D");
    ImageFlowResult res{net.clone()};
    const flow::TrainLog log = train_flow(
        backend, net, path, [&](Index n, Rng& r) { return data::sample_rows(d.train.images, n, r); }, cfg, rng,
        &res.ema);
    if (cfg.ema_decay == 0) res.ema = net.clone();
    res.final_loss = log.final_loss();
    res.seconds = log.seconds;
    return res;
}

void save_image_flow(const std::string& file, const ImageFlowResult& r, const data::ImageData& d,
                     const flow::FlowMatchingConfig& cfg, std::uint64_t seed, const flow::Path& path) {
    nn::Checkpoint ck = nn::to_checkpoint(r.ema);
    put_image_meta(ck, image_shape_of(d));
    ck.meta["steps"] = std::to_string(cfg.steps);
    ck.meta["batch"] = std::to_string(cfg.batch);
    ck.meta["lr"] = std::to_string(cfg.adam.lr);
    ck.meta["ema"] = std::to_string(cfg.ema_decay);
    ck.meta["seed"] = std::to_string(seed);
    ck.meta["path"] = path_option_name(path);
    nn::save_checkpoint(file, ck);
}

void save_image_grid(const std::string& path, const Mat<float>& x, const ImageShape& im, int ncol,
                     const std::string& title) {
    plot::ImageGridOptions go;
    go.signed_range = true;
    plot::image_grid(path, x, im.rows, im.cols, ncol, title, go);
}

}  // namespace am::recipes
