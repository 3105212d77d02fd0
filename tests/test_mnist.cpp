// MNIST without the network: image data sets on a tiny IDX fixture written
// here, the classifier reward and its gradient, the classifier checkpoint's
// checks, the image evaluation on hand-made samples, and a small classifier-
// reward fine-tuning through the shared FineTuner.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "cli/app.hpp"
#include "data/images.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/trainer.hpp"
#include "flow/network_field.hpp"
#include "flow/path.hpp"
#include "nn/checkpoint.hpp"
#include "nn/classifier.hpp"
#include "test_support.hpp"

using namespace am;
using namespace am::testing;
namespace fs = std::filesystem;

namespace {

// n images of 2 x 2 pixels: image i has label i % 10 and pixels (i + p) / 255.
void write_fixture(const std::string& dir, const std::string& split, int n, int rows = 2, int cols = 2,
                   int bad_label = -1) {
    fs::create_directories(dir);
    Mat<float> images = zeros<float>(n, rows * cols);
    std::vector<int> labels;
    for (int i = 0; i < n; ++i) {
        for (int p = 0; p < rows * cols; ++p) images(i, p) = float(i + p) / 255.0f;
        labels.push_back(i == 0 && bad_label >= 0 ? bad_label : i % 10);
    }
    data::write_idx_images(dir + "/" + split + "-images-idx3-ubyte.gz", images, rows, cols, true);
    data::write_idx_labels(dir + "/" + split + "-labels-idx1-ubyte", labels, false);
}

// A linear "classifier" 2 -> 10 (sizes {2, 10}): logit 0 = 6 x0, logit 1 =
// 6 x1, the others 0. At x = (1, -1) class 0 has probability
// e^6 / (e^6 + e^-6 + 8) = 0.979; at (0, 0) every class has 0.1.
nn::MLP<float> hand_classifier() {
    Rng rng(0);
    nn::MLP<float> net({2, 10}, nn::Activation::SiLU, rng);
    auto ps = net.parameters();
    ps[0].value().fill(0.0f);
    ps[1].value().fill(0.0f);
    ps[0].value()(0, 0) = 6.0f;
    ps[0].value()(1, 1) = 6.0f;
    return net;
}

}  // namespace

TEST_CASE("mnist: image data from an IDX folder, pixels to [-1, 1], labels per class") {
    TempDir dir;
    const std::string d = dir / "set";
    write_fixture(d, "train", 25);
    write_fixture(d, "t10k", 12);
    const data::ImageData data = data::load_image_data("idx:" + d);
    CHECK(data.rows() == 2);
    CHECK(data.cols() == 2);
    CHECK(data.dim() == 4);
    REQUIRE(rows(data.train.images) == 25);
    CHECK(rows(data.test.images) == 12);
    // pixel (i + p) / 255 -> 2 (i + p) / 255 - 1
    CHECK(data.train.images(3, 1) == doctest::Approx(2.0 * 4 / 255 - 1).epsilon(1e-6));
    CHECK(data.train.images(0, 0) == -1.0f);
    const Mat<float> threes = data::rows_with_label(data.train, 3);
    REQUIRE(rows(threes) == 3);  // images 3, 13, 23
    CHECK(threes(1, 0) == data.train.images(13, 0));
    CHECK(rows(data::rows_with_label(data.test, 7)) == 1);
    // round trip of the preprocessing
    const Mat<float> back = data::model_to_pixels(data.train.images);
    CHECK(back(3, 1) == doctest::Approx(4.0 / 255).epsilon(1e-5));
    CHECK(data::model_to_pixels(Mat<float>{{3.0f, -2.0f}})(0, 0) == 1.0f);
    CHECK(data::clamp_model(Mat<float>{{3.0f, -2.0f}})(0, 1) == -1.0f);

    CHECK(data::is_image_data_spec("mnist"));
    CHECK(data::is_image_data_spec("idx:/x"));
    CHECK_FALSE(data::is_image_data_spec("ring"));
    CHECK(data::image_data_dir("mnist") == "data/mnist");
}

TEST_CASE("mnist: bad image data folders are one-line errors") {
    TempDir dir;
    check_error([&] { data::load_image_data("idx:" + (dir / "none")); }, {dir / "none", "does not exist"});
    check_error([&] { data::load_image_data("idx:"); }, {"expected mnist or idx:DIR"});
    // a folder with the training files only
    write_fixture(dir / "half", "train", 10);
    check_error([&] { data::load_image_data("idx:" + (dir / "half")); }, {"t10k-images-idx3-ubyte.gz"});
    // splits of different image sizes
    write_fixture(dir / "sizes", "train", 10);
    write_fixture(dir / "sizes", "t10k", 10, 3, 3);
    check_error([&] { data::load_image_data("idx:" + (dir / "sizes")); }, {"2 x 2", "3 x 3"});
    // a label outside 0..9
    write_fixture(dir / "labels", "train", 10, 2, 2, 12);
    write_fixture(dir / "labels", "t10k", 10);
    check_error([&] { data::load_image_data("idx:" + (dir / "labels")); }, {"label 12", "outside 0..9"});
    // image and label counts that differ
    write_fixture(dir / "counts", "train", 10);
    write_fixture(dir / "counts", "t10k", 10);
    data::write_idx_labels(dir / "counts/t10k-labels-idx1-ubyte", {1, 2, 3}, false);
    check_error([&] { data::load_image_data("idx:" + (dir / "counts")); }, {"has 10 images but", "has 3 labels"});
}

TEST_CASE("mnist: the classifier reward is log p(c | x), its gradient matches finite differences") {
    Rng rng(3);
    nn::MLP<float> net({4, 6, 10}, nn::Activation::SiLU, rng);
    nn::freeze(net);
    const finetune::ClassifierReward reward(net, 7);
    const Mat<float> x = rng.normal<float>(5, 4);
    Mat<float> r;
    const Mat<float> g = reward.grad(x, &r);
    // value: log softmax of the logits, entry 7
    const Mat<float> p = nn::predict_proba(net, x);
    for (Index i = 0; i < 5; ++i) CHECK(r(i, 0) == doctest::Approx(std::log(p(i, 7))).epsilon(1e-4));
    // gradient: central differences of the float reward, eps 1e-2 (error O(eps^2))
    const float eps = 1e-2f;
    double worst = 0;
    for (Index i = 0; i < 5; ++i)
        for (Index j = 0; j < 4; ++j) {
            Mat<float> xp = x, xm = x;
            xp(i, j) += eps;
            xm(i, j) -= eps;
            const double fd = (double(reward.value(xp)(i, 0)) - double(reward.value(xm)(i, 0))) / (2.0 * eps);
            worst = std::max(worst, std::abs(fd - double(g(i, j))) / std::max(1.0, std::abs(fd)));
        }
    CHECK(worst < 2e-3);

    // the linear hand classifier: grad r = W (e_c - p) in closed form
    nn::MLP<float> lin = hand_classifier();
    nn::freeze(lin);
    const finetune::ClassifierReward r0(lin, 0);
    const Mat<float> x0{{0.3f, -0.2f}};
    const Mat<float> g0 = r0.grad(x0);
    const Mat<float> p0 = nn::predict_proba(lin, x0);
    CHECK(g0(0, 0) == doctest::Approx(6.0 * (1.0 - p0(0, 0))).epsilon(1e-4));
    CHECK(g0(0, 1) == doctest::Approx(-6.0 * p0(0, 1)).epsilon(1e-4));
}

TEST_CASE("mnist: classifier checkpoints and reward specs: loading and one-line errors") {
    TempDir dir;
    Rng rng(1);
    nn::MLP<float> net({4, 8, 10}, nn::Activation::SiLU, rng);
    const std::string ck = dir / "cls.ckpt";
    nn::save_checkpoint(ck, nn::to_checkpoint(net));

    const auto spec = finetune::parse_classifier_spec("classifier:" + ck + ",3");
    CHECK(spec.path == ck);
    CHECK(spec.target == 3);
    auto reward = finetune::make_reward("classifier:" + ck + ",3", 4);
    auto* cr = dynamic_cast<finetune::LoadedClassifierReward*>(reward.get());
    REQUIRE(cr != nullptr);
    CHECK(cr->target_class() == 3);
    CHECK(reward->dim() == 4);
    const Mat<float> x = rng.normal<float>(2, 4);
    nn::freeze(net);
    const finetune::ClassifierReward same(net, 3);
    CHECK(reward->value(x)(1, 0) == doctest::Approx(same.value(x)(1, 0)));
    // the 2-D kinds still pass through
    CHECK(finetune::make_reward("linear:1,0", 2)->dim() == 2);

    check_error([&] { finetune::make_reward("classifier:" + ck + ",12", 4); }, {"'12' is not a digit 0..9"});
    check_error([&] { finetune::make_reward("classifier:" + ck, 4); }, {"expected classifier:CKPT,DIGIT"});
    check_error([&] { finetune::make_reward("classifier:" + ck + ",x", 4); }, {"not a digit"});
    check_error([&] { finetune::make_reward("classifier:" + (dir / "none.ckpt") + ",1", 4); },
                {dir / "none.ckpt", "cannot open"});
    // the wrong shape: a classifier of 4-pixel images for 784-pixel data
    check_error([&] { finetune::make_reward("classifier:" + ck + ",1", 784); },
                {ck, "maps 4 inputs to 10 classes", "expected 784 inputs"});
    // 5 classes
    const nn::MLP<float> five({4, 8, 5}, nn::Activation::SiLU, rng);
    nn::save_checkpoint(dir / "five.ckpt", nn::to_checkpoint(five));
    check_error([&] { nn::load_classifier(dir / "five.ckpt", 4, 10); }, {"to 5 classes"});
    // a velocity network is not a classifier
    nn::save_checkpoint(dir / "vel.ckpt", nn::to_checkpoint(nn::VelocityMLP<float>(4, 8, 1, rng)));
    check_error([&] { nn::load_classifier(dir / "vel.ckpt", 4, 10); }, {"holds a 'velocity_mlp'"});
    check_error([&] { finetune::make_reward("cubic:1", 2); }, {"unknown kind", "classifier:CKPT,DIGIT"});
}

TEST_CASE("mnist: image evaluation on hand-made samples") {
    const nn::MLP<float> cls = hand_classifier();
    // 4 samples: two clear 0's ((3, -1) is clamped to (1, -1)), one clear 1,
    // and one at the origin (uniform: label 0 by the first-maximum rule, not confident)
    const Mat<float> x{{1.0f, -1.0f}, {3.0f, -1.0f}, {-1.0f, 1.0f}, {0.0f, 0.0f}};
    const double p_clear = std::exp(6.0) / (std::exp(6.0) + std::exp(-6.0) + 8.0);
    const double p_other = std::exp(-6.0) / (std::exp(6.0) + std::exp(-6.0) + 8.0);
    const Mat<float> real{{1.0f, -1.0f}, {1.0f, 1.0f}};  // pixel distance ||(0, 1)|| = 1

    const auto ev = finetune::evaluate_images(cls, x, 0, &real);
    CHECK(ev.n == 4);
    CHECK(ev.share_target == doctest::Approx(0.75));
    CHECK(ev.mean_log_p_target == doctest::Approx((2 * std::log(p_clear) + std::log(p_other) + std::log(0.1)) / 4).epsilon(1e-4));
    CHECK(ev.share_confident == doctest::Approx(0.75));
    CHECK(ev.label_share[0] == doctest::Approx(0.75));
    CHECK(ev.label_share[1] == doctest::Approx(0.25));
    CHECK(ev.label_tv_uniform == doctest::Approx(0.5 * (0.65 + 0.15 + 8 * 0.1)));
    // the generated 0's: (1, -1), (1, -1) (clamped) and (0, 0): pixel distances 0, 1/sqrt(2), 1/sqrt(2)
    CHECK(ev.diversity_n == 3);
    CHECK(ev.diversity == doctest::Approx(2.0 / 3.0 * std::sqrt(0.5)).epsilon(1e-5));
    CHECK(ev.diversity_real == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(ev.diversity_ratio() == doctest::Approx(2.0 / 3.0 * std::sqrt(0.5)).epsilon(1e-5));
    const std::string js = ev.to_json();
    CHECK(js.find("\"share_target\": 0.75") != std::string::npos);
    CHECK(js.find("\"diversity_ratio\"") != std::string::npos);

    // no target: the label histogram and the confidence only, diversity over all
    const auto un = finetune::evaluate_images(cls, x, -1);
    CHECK(un.share_target == 0);
    CHECK(un.diversity_n == 4);
    CHECK(un.diversity_real == 0);
    CHECK(un.to_json().find("share_target") == std::string::npos);

    check_error([&] { finetune::evaluate_images(cls, Mat<float>{{1.0f, 2.0f, 3.0f}}, 0); }, {"3 columns", "takes 2"});
    check_error([&] { finetune::evaluate_images(cls, x, 10); }, {"class 10"});
}

TEST_CASE("mnist: classifier-reward fine-tuning through the shared FineTuner raises log p(c | x)") {
    // a 2-pixel "image" model: v = a small network, reward log p(0 | x) of the
    // hand classifier; 40 adjoint-matching iterations with a copy of the base
    Rng rng(5);
    nn::VelocityMLP<float> net(2, 32, 2, rng);
    nn::freeze(net);
    const flow::NetworkVelocity base(net);
    finetune::CopyOfNetwork ft(base);
    nn::MLP<float> cls = hand_classifier();
    nn::freeze(cls);
    const finetune::ClassifierReward reward(cls, 0);
    finetune::FineTuneConfig cfg;
    cfg.lambda = 1.0;
    cfg.batch = 128;
    cfg.adam = nn::AdamConfig{3e-3};
    const flow::CondOT path;
    finetune::FineTuner tuner(ft, reward, flow::make_step_grid(path, flow::parse_noise("memoryless"), 10, flow::Scheme::Exact),
                              cfg, 9);
    double first = 0, last = 0;
    for (int i = 0; i < 40; ++i) {
        const auto st = tuner.iterate();
        if (i < 5) first += st.reward_mean / 5;
        if (i >= 35) last += st.reward_mean / 5;
    }
    INFO("mean log p(0 | x): first 5 iterations " << first << ", last 5 " << last);
    CHECK(last > first + 0.3);
}

// ---- the command line, in-process (cli/app.hpp) ------------------------------
// (checked here: the exit status, the files written, the JSON lines named on
// stdout and the one-line errors; the figures themselves are checked above)


TEST_CASE("mnist: the amflow subcommands on a tiny IDX folder, and their one-line errors") {
    TempDir dir;
    const std::string d = dir / "set", data = "idx:" + d;
    write_fixture(d, "train", 40);
    write_fixture(d, "t10k", 20);
    const std::string cls = dir / "cls.ckpt", base = dir / "base.ckpt", ft = dir / "ft.ckpt";

    CliResult r = amflow({"train-classifier", "--data", data, "--steps", "20", "--hidden", "8", "--out", cls});
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("{\"test_accuracy\": ") == 0);  // one JSON line on stdout
    if (capture_stderr) CHECK(r.log.find("train-classifier: ") == 0);  // progress on stderr
    CHECK(nn::load_classifier(cls, 4, 10).sizes()[1] == 8);

    r = amflow({"pretrain", "--data", data, "--steps", "5", "--width", "16", "--depth", "1", "--out", base,
                "--plot", dir / "base.png"});
    REQUIRE(r.status == 0);
    CHECK(fs::exists(dir / "base.png"));
    CHECK(nn::load_checkpoint(base).get("image_rows") == "2");

    r = amflow({"sample", "--model", base, "--n", "30", "--steps", "4", "--out", dir / "s.csv", "--plot", dir / "s.png"});
    REQUIRE(r.status == 0);
    CHECK(fs::exists(dir / "s.png"));
    r = amflow({"eval", "--samples", dir / "s.csv", "--reward", "classifier:" + cls + ",3", "--data", data});
    CHECK(r.status == 0);
    CHECK(r.out.find("\"n\": 30, \"target\": 3, \"share_target\": ") != std::string::npos);
    r = amflow({"eval", "--samples", dir / "s.csv", "--classifier", cls});
    CHECK(r.status == 0);
    CHECK(r.out.find("\"label_share\": [") != std::string::npos);

    r = amflow({"finetune", "--model", base, "--reward", "classifier:" + cls + ",3", "--iters", "2", "--batch", "8",
                "--steps", "4", "--eval-n", "20", "--report-every", "0", "--out", ft, "--plot", dir / "ft.png"});
    REQUIRE(r.status == 0);
    CHECK(fs::exists(dir / "ft.png"));
    CHECK(nn::load_checkpoint(ft).get("image_cols") == "2");  // the fine-tuned model keeps the image metadata
    r = amflow({"finetune", "--model", base, "--method", "bptt", "--reward", "classifier:" + cls + ",3", "--iters", "1",
                "--batch", "4", "--steps", "3", "--eval-n", "10", "--report-every", "0", "--out", ft});
    CHECK(r.status == 0);

    // bad input
    check_one_line_error({"train-classifier", "--data", "idx:" + (dir / "none"), "--out", cls}, "does not exist");
    check_one_line_error({"train-classifier", "--data", "ring", "--out", cls}, "expected mnist or idx:DIR");
    check_one_line_error({"pretrain", "--data", "idx:" + (dir / "none"), "--out", base}, "does not exist");
    check_one_line_error({"finetune", "--model", base, "--reward", "classifier:" + cls + ",12", "--out", ft},
                    "'12' is not a digit 0..9");
    check_one_line_error({"finetune", "--model", base, "--reward", "classifier:" + base + ",1", "--out", ft},
                    "holds a 'velocity_mlp'");
    Rng rng(0);
    nn::save_checkpoint(dir / "wide.ckpt", nn::to_checkpoint(nn::MLP<float>({9, 4, 10}, nn::Activation::SiLU, rng)));
    check_one_line_error({"finetune", "--model", base, "--reward", "classifier:" + (dir / "wide.ckpt") + ",1", "--out", ft},
                    "maps 9 inputs to 10 classes");
    check_one_line_error({"eval", "--samples", dir / "s.csv", "--reward", "classifier:" + cls + ",1", "--data",
                     "idx:" + (dir / "none")},
                    "does not exist");
    check_one_line_error({"mnist-demo", "--data", "idx:" + (dir / "none"), "--out-dir", dir / "demo"}, "does not exist");
    check_one_line_error({"mnist-demo", "--digit", "10", "--out-dir", dir / "demo"}, "--digit 10");
}
