// amflow eval: samples against the exact tilted target of a mixture, or,
// for images (MNIST), through the classifier: with --reward
// classifier:CKPT,DIGIT the share classified as the digit, mean log p(c|x)
// and the diversity of the generated c's against the real c's of --data's
// test split; with --classifier CKPT (no digit) the share of confident
// samples and the histogram of predicted labels.
// Design: docs/design.md#command-line
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/csv.hpp"
#include "finetune/evaluation.hpp"

namespace am::cli {

namespace {
struct EvalOptions {
    std::string samples, mixture = "ring", reward = "linear:1,0", classifier, data;
    double lambda = 0.5, confidence = 0.9;
};

void run_eval_images(const EvalOptions& o, const Mat<float>& x) {
    AM_CHECK(rows(x) > 0, o.samples + " holds no samples");
    int target = -1;
    std::unique_ptr<nn::MLP<float>> owned;
    const nn::MLP<float>* net = nullptr;
    std::unique_ptr<finetune::LoadedClassifierReward> reward;
    if (finetune::is_classifier_spec(o.reward)) {
        AM_CHECK(o.classifier.empty(), "give either --reward classifier:CKPT,DIGIT or --classifier CKPT, not both");
        reward = std::make_unique<finetune::LoadedClassifierReward>(finetune::parse_classifier_spec(o.reward), cols(x));
        net = &reward->classifier();
        target = reward->target_class();
    } else {
        owned = std::make_unique<nn::MLP<float>>(nn::load_classifier(o.classifier, cols(x), data::kImageClasses));
        net = owned.get();
    }
    AM_CHECK(o.confidence > 0 && o.confidence <= 1, "--confidence must be in (0, 1]");
    Mat<float> real;
    if (!o.data.empty()) {
        const data::ImageData d = data::load_image_data(o.data);
        AM_CHECK(d.dim() == cols(x), o.samples + " has " + std::to_string(cols(x)) + " columns, the images of " +
                                         d.dir + " have " + std::to_string(d.dim()) + " pixels");
        real = target >= 0 ? data::rows_with_label(d.test, target) : d.test.images;
    }
    const auto ev = finetune::evaluate_images(*net, x, target, o.data.empty() ? nullptr : &real, o.confidence);
    std::printf("%s\n", ev.to_json().c_str());
}

void run_eval(const EvalOptions& o) {
    const Mat<float> x = data::read_samples_csv(o.samples);
    if (finetune::is_classifier_spec(o.reward) || !o.classifier.empty()) return run_eval_images(o, x);
    const data::GaussianMixture base = load_mixture_spec(o.mixture);
    AM_CHECK(cols(x) == base.dim(), o.samples + " has " + std::to_string(cols(x)) + " columns, the mixture is " +
                                        std::to_string(base.dim()) + "-D");
    AM_CHECK(rows(x) > 0, o.samples + " holds no samples");
    auto reward = finetune::make_reward(o.reward, base.dim());
    const auto target = o.lambda == 0 ? base : finetune::exact_tilt(base, *reward, o.lambda);
    std::printf("%s\n", finetune::evaluate(x, target, reward.get()).to_json().c_str());
}
}  // namespace

void register_eval(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    auto* cmd = app.add_subcommand("eval", "Compare samples with the exact tilted mixture, or images through a classifier; prints JSON");
    cmd->add_option("--samples", o->samples, "samples CSV")->required();
    cmd->add_option("--mixture", o->mixture, "the base mixture: ring | FILE.json")->capture_default_str();
    cmd->add_option("--reward", o->reward, "linear:c0,c1 | quadratic:a0,a1,tau | classifier:CKPT,DIGIT (images)")
        ->capture_default_str();
    cmd->add_option("--classifier", o->classifier, "images without a digit: label histogram and confidence of CKPT");
    cmd->add_option("--data", o->data, "images: mnist | idx:DIR, whose test split gives the real diversity");
    cmd->add_option("--confidence", o->confidence, "images: the confidence threshold")->capture_default_str()->check(real_in(0, 1, true));
    cmd->add_option("--lambda", o->lambda, "reward multiplier (0: compare with the base)")->capture_default_str()
        ->check(real_in(-kMaxLambda, kMaxLambda));
    cmd->callback([o] { run_eval(*o); });
}

}  // namespace am::cli
