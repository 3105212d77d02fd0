// amflow mnist-demo: the whole MNIST story from the IDX files (make data).
//   1. the reward classifier (784 -> 256 -> SiLU -> 10) on the training
//      split, its held-out accuracy;
//   2. the velocity network VelocityMLP(784, 1024, 3) pretrained by flow
//      matching; a grid of its samples, the share the classifier labels with
//      confidence >= 0.9 and the histogram of the predicted labels;
//   3. fine-tuning toward digit c, r(x) = log p(c | x): adjoint matching
//      (lean adjoint, memoryless schedule) for lambda = 1 and a larger
//      lambda, and BPTT at lambda = 1, all through finetune::FineTuner with a
//      copy of the base network as the fine-tuned model;
//   4. each model sampled with the flow ODE and with the memoryless SDE: the
//      share classified as c, mean log p(c | x), and the diversity of the
//      generated c's against the real c's of the test split; time per
//      iteration and peak memory of each method; PNG grids before and after;
//      the table on stdout and in OUT/table.md.
// Design: docs/design.md#command-line
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/parse.hpp"
#include "finetune/image_eval.hpp"

namespace am::cli {

namespace {
struct MnistDemoOptions {
    std::string out_dir = "out-mnist", data = "mnist", scheme = "exact", loss_steps = "all";
    std::string lambdas = "1,4";
    int digit = 0, K = 40, ode_steps = 20;
    long classifier_steps = 3000, pretrain_steps = 16000, iters = 400, bptt_iters = 0;
    Index pretrain_batch = 128, batch = 64, n_eval = 1000;
    double pretrain_lr = 1e-3, lr = 2e-4, bptt_lr = 5e-5, clip = 0;
    bool reuse = false, no_bptt = false;
    std::uint64_t seed = 0;
};

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

std::vector<double> parse_list(const std::string& s, const std::string& opt) {
    std::vector<double> out;
    for (const auto& item : split(s, ',')) {
        const auto v = parse_double(item);
        AM_CHECK(v && std::isfinite(*v) && *v > 0, opt + " '" + s + "': '" + item + "' is not a positive number");
        out.push_back(*v);
    }
    return out;
}

struct Row {
    std::string method, sampler;
    double lambda = 0;
    finetune::ImageEvaluation ev;
    double sec_per_iter = 0, train_s = 0, peak_mb = 0, start_mb = 0;
    long iters = 0;
    double ess = 0;  // > 0: a row of the importance-weighted target estimate
};

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string table_markdown(const std::vector<Row>& rows, int digit) {
    std::ostringstream s;
    s << "| model | lambda | sampler | classified as " << digit << " | mean log p(" << digit
      << "\\|x) | diversity of generated " << digit << "'s (n) | / real " << digit
      << "'s | confident >= 0.9 | iters | s/iter | peak RSS MB (at start) |\n";
    s << "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        s << "| " << r.method << " | " << (r.lambda > 0 ? fmt("%g", r.lambda) : "-") << " | " << r.sampler << " | "
          << fmt("%.1f%%", 100 * r.ev.share_target) << " | " << fmt("%.3f", r.ev.mean_log_p_target) << " | ";
        if (r.ess > 0) {
            s << "ESS " << fmt("%.0f", r.ess) << " of " << r.ev.n << " | - | - | - | - | - |\n";
            continue;
        }
        s << fmt("%.3f", r.ev.diversity) << " (" << r.ev.diversity_n << ") | "
          << fmt("%.0f%%", 100 * r.ev.diversity_ratio()) << " | " << fmt("%.1f%%", 100 * r.ev.share_confident) << " | ";
        if (r.iters > 0)
            s << r.iters << " | " << fmt("%.3f", r.sec_per_iter) << " | " << fmt("%.0f", r.peak_mb) << " ("
              << fmt("%.0f", r.start_mb) << ") |\n";
        else
            s << "- | - | - |\n";
    }
    return s.str();
}

std::string histogram_line(const finetune::ImageEvaluation& ev) {
    std::string s;
    for (std::size_t k = 0; k < ev.label_share.size(); ++k)
        s += std::to_string(k) + ": " + fmt("%.1f%%", 100 * ev.label_share[k]) + (k + 1 < ev.label_share.size() ? ", " : "");
    return s;
}

void run_mnist_demo(const MnistDemoOptions& o) {
    const auto t_start = clock_type::now();
    AM_CHECK(o.digit >= 0 && o.digit <= 9, "--digit " + std::to_string(o.digit) + " is not a digit 0..9");
    const auto lambdas = parse_list(o.lambdas, "--lambdas");
    require_positive(double(o.iters), "--iters");
    require_positive(double(o.n_eval), "--n-eval");
    std::filesystem::create_directories(o.out_dir);
    const std::string out = o.out_dir + "/";
    const long bptt_iters = o.bptt_iters > 0 ? o.bptt_iters : o.iters;

    // 0. data
    const data::ImageData d = data::load_image_data(o.data);
    std::printf("== 0. data: %s (%s)\n", o.data.c_str(), d.dir.c_str());
    const ImageShape shape = image_shape_of(d);
    const Mat<float> real_c = data::rows_with_label(d.test, o.digit);
    std::printf("   %zu training and %zu test images of %d x %d (test digits of class %d: %ld); pixels x = 2p - 1\n",
                d.train.labels.size(), d.test.labels.size(), d.rows(), d.cols(), o.digit, long(rows(real_c)));
    save_image_grid(out + "real.png", xt::view(d.test.images, xt::range(0, std::min<Index>(100, rows(d.test.images))), xt::all()),
                    shape, 10, "real test digits");
    std::fflush(stdout);

    // 1. classifier
    const std::string cls_path = out + "classifier.ckpt";
    nn::MLP<float> classifier;
    auto t0 = clock_type::now();
    if (o.reuse && std::filesystem::exists(cls_path)) {
        classifier = nn::load_classifier(cls_path, d.dim(), data::kImageClasses);
        std::printf("== 1. classifier: reusing %s\n", cls_path.c_str());
    } else {
        std::printf("== 1. classifier MLP(%ld, 256, 10) on the training split, %ld steps of 128\n", long(d.dim()),
                    o.classifier_steps);
        std::fflush(stdout);
        nn::ClassifierConfig cc;
        cc.steps = o.classifier_steps;
        cc.progress_seconds = 0;
        TrainedClassifier tc = train_image_classifier(d, 256, cc, o.seed);
        save_classifier(cls_path, tc, d, cc, o.seed);
        classifier = std::move(tc.net);
    }
    const double acc = nn::accuracy(classifier, d.test.images, d.test.labels);
    const double classifier_s = since(t0);
    std::printf("   held-out accuracy %.2f%% on %zu test digits (%.0f s); checkpoint %s\n", 100 * acc,
                d.test.labels.size(), classifier_s, cls_path.c_str());
    {
        const auto real_ev = finetune::evaluate_images(classifier, d.test.images, -1, nullptr);
        std::printf("   real test digits: %.1f%% classified with confidence >= 0.9\n", 100 * real_ev.share_confident);
    }
    std::fflush(stdout);

    // 2. pretraining
    const std::string base_path = out + "base.ckpt";
    t0 = clock_type::now();
    flow::FlowMatchingConfig fc = image_flow_config();
    fc.steps = o.pretrain_steps;
    fc.batch = o.pretrain_batch;
    fc.adam.lr = o.pretrain_lr;
    if (o.reuse && std::filesystem::exists(base_path)) {
        std::printf("== 2. flow model: reusing %s\n", base_path.c_str());
    } else {
        std::printf("== 2. flow matching: VelocityMLP(%ld, 1024, 3), %ld steps of %ld, lr %g (cosine to %g), EMA 0.999\n",
                    long(d.dim()), fc.steps, long(fc.batch), fc.adam.lr, fc.adam.lr * fc.lr_final_fraction);
        std::fflush(stdout);
        Rng rng(o.seed + 1);
        nn::VelocityMLP<float> net(d.dim(), 1024, 3, rng);
        const ImageFlowResult r = pretrain_image_flow(net, d, fc, rng, Backend::Autograd);
        save_image_flow(base_path, r, d, fc, o.seed + 1);
        std::printf("   final loss %.4f; checkpoint %s\n", r.final_loss, base_path.c_str());
    }
    const double pretrain_s = since(t0);
    std::printf("   %.0f s\n", pretrain_s);
    LoadedField base = LoadedField::from_options(base_path, "");
    AM_CHECK(base.field().dim() == d.dim(), base_path + " is not a model of " + std::to_string(d.dim()) + "-pixel images");

    // the evaluation of one model with both samplers
    std::vector<Row> table;
    std::vector<Mat<float>> base_samples;
    auto evaluate_model = [&](const flow::VelocityField& field, const std::string& name, double lambda,
                              const std::string& grid_name, Row proto) {
        Rng erng(o.seed + 100);  // the same noise for every model
        const Mat<float> x_ode = flow::draw_samples(field, base.path(),
            sampler_settings(base.path(), "ode", o.scheme, o.ode_steps), o.n_eval, erng);
        const Mat<float> x_sde = flow::draw_samples(field, base.path(),
            sampler_settings(base.path(), "memoryless", o.scheme, o.K), o.n_eval, erng);
        for (const auto& [sampler, x] : {std::pair<std::string, const Mat<float>*>{"ODE", &x_ode}, {"memoryless SDE", &x_sde}}) {
            Row r = proto;
            r.method = name;
            r.lambda = lambda;
            r.sampler = sampler;
            r.ev = finetune::evaluate_images(classifier, *x, o.digit, &real_c);
            table.push_back(r);
        }
        const std::string title = name + (lambda > 0 ? ", lambda " + fmt("%g", lambda) : "") + " (memoryless SDE)";
        save_image_grid(out + grid_name, xt::view(x_sde, xt::range(0, std::min<Index>(100, o.n_eval)), xt::all()),
                        shape, 10, title);
        // a compact copy (the first 40 of the same samples) for the README
        save_image_grid(out + grid_name.substr(0, grid_name.size() - 4) + "_small.png",
                        xt::view(x_sde, xt::range(0, std::min<Index>(40, o.n_eval)), xt::all()), shape, 10, title);
        if (base_samples.empty()) base_samples = {x_ode, x_sde};
    };

    std::printf("== 3. the base model: %ld samples with the ODE (Heun, %d steps) and the memoryless SDE (%s, K = %d)\n",
                long(o.n_eval), o.ode_steps, o.scheme.c_str(), o.K);
    std::fflush(stdout);
    t0 = clock_type::now();
    evaluate_model(base.field(), "base", 0, "before.png", Row{});
    for (std::size_t i = table.size() - 2; i < table.size(); ++i) {
        const auto& ev = table[i].ev;
        std::printf("   %s: confident >= 0.9: %.1f%%; classified as %d: %.1f%%; labels: %s (TV to uniform %.3f)\n",
                    table[i].sampler.c_str(), 100 * ev.share_confident, o.digit, 100 * ev.share_target,
                    histogram_line(ev).c_str(), ev.label_tv_uniform);
    }
    // what fine-tuning should reach: the base samples reweighted by p(c | x)^lambda
    for (double l : lambdas)
        for (int s = 0; s < 2; ++s) {
            const auto te = finetune::estimate_tilt(classifier, base_samples[std::size_t(s)], o.digit, l);
            Row r;
            r.method = "target (reweighted base)";
            r.lambda = l;
            r.sampler = s == 0 ? "ODE" : "memoryless SDE";
            r.ev.n = rows(base_samples[std::size_t(s)]);
            r.ev.share_target = te.share_target;
            r.ev.mean_log_p_target = te.mean_log_p_target;
            r.ess = te.ess;
            table.push_back(r);
            std::printf("   target p_base p(%d|x)^%g, estimated from the %s samples: classified as %d %.1f%%, mean log p "
                        "%.3f (effective sample size %.0f)\n",
                        o.digit, l, r.sampler.c_str(), o.digit, 100 * te.share_target, te.mean_log_p_target, te.ess);
        }
    std::printf("   grid %sbefore.png (%.0f s)\n", out.c_str(), since(t0));
    std::fflush(stdout);

    // 4. fine-tuning
    struct Run { std::string method; double lambda; long iters; double lr; };
    std::vector<Run> runs;
    for (double l : lambdas) runs.push_back({"am", l, o.iters, o.lr});
    if (!o.no_bptt) runs.push_back({"bptt", lambdas.front(), bptt_iters, o.bptt_lr});
    finetune::LoadedClassifierReward reward({cls_path, o.digit}, d.dim());
    std::vector<std::pair<std::string, double>> run_times;
    for (const auto& run : runs) {
        const std::string tag = run.method + "_lambda" + fmt("%g", run.lambda);
        std::printf("== 4. fine-tuning %s toward %d, lambda %g: %ld iterations of %ld trajectories, K = %d (%s, "
                    "memoryless), lr %g\n",
                    run.method.c_str(), o.digit, run.lambda, run.iters, long(o.batch), o.K, o.scheme.c_str(), run.lr);
        std::fflush(stdout);
        t0 = clock_type::now();
        malloc_trim(0);  // so that the peak below is this run's
        Row proto;
        proto.start_mb = current_rss_mb();
        Rng frng(o.seed + 20);
        auto ft = make_finetuned(base, 0, 0, frng);
        finetune::FineTuneConfig cfg;
        cfg.method = finetune::parse_method(run.method);
        cfg.lambda = run.lambda;
        cfg.batch = o.batch;
        cfg.loss_steps = finetune::LossSteps::parse(o.loss_steps);
        cfg.clip = o.clip;
        cfg.adam = nn::AdamConfig{run.lr};
        finetune::FineTuner tuner(*ft, reward, make_grid(base.path(), "memoryless", o.scheme, o.K), cfg, o.seed + 30);
        const auto summary = run_finetuning([&] { return tuner.iterate(); }, run.iters, std::max<long>(1, run.iters / 10), "   " + tag);
        proto.sec_per_iter = summary.seconds_per_iter;
        proto.peak_mb = summary.peak_rss_mb;
        proto.iters = run.iters;
        proto.train_s = since(t0);
        save_finetuned(out + tag + ".ckpt", *ft, base);
        evaluate_model(*ft, run.method == "am" ? "adjoint matching" : "BPTT", run.lambda, "after_" + tag + ".png", proto);
        for (std::size_t i = table.size() - 2; i < table.size(); ++i)
            std::printf("   %s: classified as %d: %.1f%%, mean log p %.3f, diversity %.0f%% of real, confident %.1f%%\n",
                        table[i].sampler.c_str(), o.digit, 100 * table[i].ev.share_target, table[i].ev.mean_log_p_target,
                        100 * table[i].ev.diversity_ratio(), 100 * table[i].ev.share_confident);
        std::printf("   %.3f s/iter, peak RSS %.0f MB (%.0f MB at the start); grid %safter_%s.png (%.0f s)\n",
                    summary.seconds_per_iter, summary.peak_rss_mb, proto.start_mb, out.c_str(), tag.c_str(), since(t0));
        run_times.push_back({tag, since(t0)});
        std::fflush(stdout);
    }

    // 5. the table
    const std::string md = table_markdown(table, o.digit);
    std::printf("\n%s", md.c_str());
    std::printf("diversity: mean pairwise distance (pixels in [0, 1]) among the samples classified as %d, against the\n"
                "same figure for the %ld real %d's of the test split (%.3f). Samples are clamped to the pixel range\n"
                "before they are classified. s/iter and peak RSS: the fine-tuning loop (%ld trajectories, K = %d).\n"
                "target (reweighted base): the base's own samples weighted by p(c|x)^lambda estimate what the\n"
                "exact tilt p_base(x) p(c|x)^lambda gives (ESS: the effective number of samples behind it).\n",
                o.digit, long(rows(real_c)), o.digit, table.front().ev.diversity_real, long(o.batch), o.K);
    std::ofstream f(out + "table.md");
    f << "# MNIST: fine-tuning toward digit " << o.digit << "\n\n"
      << "classifier held-out accuracy: " << fmt("%.2f%%", 100 * acc) << " (" << d.test.labels.size() << " test digits)\n\n"
      << "base labels (memoryless SDE): " << histogram_line(table[1].ev) << "\n\n"
      << "base labels (ODE): " << histogram_line(table[0].ev) << "\n\n"
      << md << "\nreal " << o.digit << "'s diversity: " << fmt("%.3f", table.front().ev.diversity_real) << " ("
      << rows(real_c) << " test digits)\n\ntimes: classifier " << fmt("%.0f s", classifier_s) << ", pretraining "
      << fmt("%.0f s", pretrain_s);
    for (const auto& [tag, s] : run_times) f << ", " << tag << " " << fmt("%.0f s", s);
    f << ", total " << fmt("%.0f s", since(t_start)) << "\n";
    std::printf("\ntable: %stable.md; grids: %sreal.png, %sbefore.png, %safter_*.png; total %.0f s\n", out.c_str(),
                out.c_str(), out.c_str(), out.c_str(), since(t_start));
}
}  // namespace

void register_mnist_demo(CLI::App& app) {
    auto o = std::make_shared<MnistDemoOptions>();
    auto* cmd = app.add_subcommand("mnist-demo", "The MNIST story: classifier, flow model, fine-tuning toward a digit, table");
    cmd->add_option("--out-dir", o->out_dir, "folder for checkpoints, grids and the table")->capture_default_str();
    cmd->add_option("--data", o->data, "mnist | idx:DIR")->capture_default_str();
    cmd->add_option("--digit", o->digit, "the target class c")->capture_default_str();
    cmd->add_option("--classifier-steps", o->classifier_steps, "classifier training steps")->capture_default_str();
    cmd->add_option("--pretrain-steps", o->pretrain_steps, "flow-matching steps")->capture_default_str();
    cmd->add_option("--pretrain-batch", o->pretrain_batch, "flow-matching batch")->capture_default_str();
    cmd->add_option("--pretrain-lr", o->pretrain_lr, "flow-matching learning rate")->capture_default_str();
    cmd->add_option("--lambdas", o->lambdas, "adjoint matching: reward multipliers (BPTT: the first)")->capture_default_str();
    cmd->add_option("--iters", o->iters, "fine-tuning iterations (adjoint matching)")->capture_default_str();
    cmd->add_option("--bptt-iters", o->bptt_iters, "BPTT iterations (0: as --iters)")->capture_default_str();
    cmd->add_option("--batch", o->batch, "trajectories per iteration")->capture_default_str();
    cmd->add_option("--steps", o->K, "sampler steps K (fine-tuning and SDE evaluation)")->capture_default_str();
    cmd->add_option("--scheme", o->scheme, "memoryless discretisation: exact | paper | offset")->capture_default_str();
    cmd->add_option("--lr", o->lr, "adjoint matching: learning rate")->capture_default_str();
    cmd->add_option("--bptt-lr", o->bptt_lr, "BPTT: learning rate (2e-4 diverges toward a few shapes)")->capture_default_str();
    cmd->add_option("--loss-steps", o->loss_steps, "adjoint matching: all | paper | last:N")->capture_default_str();
    cmd->add_option("--clip", o->clip, "adjoint matching: per-term loss clip (0: off)")->capture_default_str();
    cmd->add_option("--ode-steps", o->ode_steps, "Heun steps of the ODE evaluation")->capture_default_str();
    cmd->add_option("--n-eval", o->n_eval, "samples per evaluation")->capture_default_str();
    cmd->add_flag("--no-bptt", o->no_bptt, "skip BPTT");
    cmd->add_flag("--reuse", o->reuse, "reuse OUT/classifier.ckpt and OUT/base.ckpt when they exist");
    cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
    cmd->callback([o] { run_mnist_demo(*o); });
}

}  // namespace am::cli
