// amflow train-classifier: the MLP classifier of the MNIST reward
// (784 -> 256 -> SiLU -> 10) trained on the training split; prints its
// held-out accuracy and writes a checkpoint (kind "mlp").
// Design: docs/design.md#command-line
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/file_io.hpp"

namespace am::cli {

namespace {
struct ClassifierOptions {
    std::string data = "mnist", out = "classifier.ckpt";
    long steps = 3000;
    Index batch = 128, hidden = 256;
    double lr = 1e-3;
    std::uint64_t seed = 0;
};

void run_train_classifier(const ClassifierOptions& o) {
    AM_CHECK(data::is_image_data_spec(o.data), "--data '" + o.data + "': expected mnist or idx:DIR");
    data::check_writable_path(o.out, "--out");
    require_positive(double(o.steps), "--steps");
    require_positive(double(o.batch), "--batch");
    require_positive(o.lr, "--lr");
    const data::ImageData d = data::load_image_data(o.data);
    AM_CHECK(!d.test.labels.empty(), "--data " + o.data + ": the test split (t10k) holds no images: no accuracy to report");
    AM_CHECK(!d.train.labels.empty(), "--data " + o.data + ": the training split holds no images");
    std::fprintf(stderr, "train-classifier: %s (%zu train, %zu test images of %d x %d), MLP(%ld, %ld, 10), %ld steps of %ld\n",
                 d.dir.c_str(), d.train.labels.size(), d.test.labels.size(), d.rows(), d.cols(), long(d.dim()),
                 long(o.hidden), o.steps, long(o.batch));
    nn::ClassifierConfig cfg;
    cfg.steps = o.steps;
    cfg.batch = o.batch;
    cfg.adam.lr = o.lr;
    const TrainedClassifier c = train_image_classifier(d, o.hidden, cfg, o.seed);
    save_classifier(o.out, c, d, cfg, o.seed);
    std::printf("{\"test_accuracy\": %.4f, \"test_n\": %zu, \"train_loss\": %.4f, \"seconds\": %.1f, \"checkpoint\": \"%s\"}\n",
                c.test_accuracy, d.test.labels.size(), c.train_loss, c.seconds, o.out.c_str());
}
}  // namespace

void register_train_classifier(CLI::App& app) {
    auto o = std::make_shared<ClassifierOptions>();
    auto* cmd = app.add_subcommand("train-classifier",
                                   "Train the MNIST reward classifier; prints its held-out accuracy (JSON)");
    cmd->add_option("--data", o->data, "mnist (data/mnist, from make data) | idx:DIR")->capture_default_str();
    cmd->add_option("--steps", o->steps, "Adam steps")->capture_default_str()->check(integer_in(1, kMaxIterations));
    cmd->add_option("--batch", o->batch, "batch size")->capture_default_str()->check(integer_in(1, kMaxBatch));
    cmd->add_option("--hidden", o->hidden, "hidden width")->capture_default_str()->check(integer_in(1, kMaxWidth));
    cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str()->check(real_in(0, 1, true));
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(seed_value());
    cmd->add_option("--out", o->out, "checkpoint to write")->capture_default_str();
    cmd->callback([o] { run_train_classifier(*o); });
}

}  // namespace am::cli
