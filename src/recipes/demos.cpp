// Design: docs/design.md#recipes
#include "recipes/demos.hpp"

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/parse.hpp"
#include "data/mixture.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/reward.hpp"
#include "finetune/tilt.hpp"
#include "finetune/trainer.hpp"
#include "flow/flow_matching.hpp"
#include "flow/sampler.hpp"
#include "plot/plots.hpp"
#include "recipes/images.hpp"
#include "recipes/models.hpp"
#include "recipes/training.hpp"

namespace am::recipes {

MnistDemoSettings::MnistDemoSettings() {
    const finetune::PretrainPreset p = finetune::pretrain_image_preset();
    pretrain_steps = p.flow.steps;
    pretrain_batch = p.flow.batch;
    pretrain_lr = p.flow.adam.lr;
    const finetune::Recipe am = finetune::image_recipe(finetune::Method::AM);
    K = am.K;
    iters = am.iters;
    batch = am.cfg.batch;
    lr = am.cfg.adam.lr;
    bptt_lr = finetune::image_recipe(finetune::Method::BPTT).cfg.adam.lr;
}

namespace {

// ---- the ring demo ------------------------------------------------------------------------

struct RingRow {
    std::string method, noise, sampler;
    finetune::Evaluation ev, ev_net;  // against the exact tilt; against the tilt of the base's own weights
    double sec_per_iter = 0, peak_mb = 0;
};

void print_ring_table(const std::vector<RingRow>& rows) {
    std::printf("\n%-10s %-14s %-11s %8s %10s %12s %12s %10s %9s %9s\n", "method", "fine-tuned", "sampler",
                "TV", "TV(base w)", "mean shift", "reward", "diversity", "s/iter", "peak MB");
    for (const auto& r : rows)
        std::printf("%-10s %-14s %-11s %8.3f %10.3f %12.3f %6.3f/%-5.3f %10.3f %9.3f %9.0f\n", r.method.c_str(),
                    r.noise.c_str(), r.sampler.c_str(), r.ev.tv, r.ev_net.tv, r.ev.max_mean_error,
                    r.ev.reward_mean, r.ev.reward_exact, r.ev.diversity, r.sec_per_iter, r.peak_mb);
    std::printf("TV: mode-weight total variation to the exact tilt; TV(base w): to the tilt of the base\n"
                "network's own mode weights; mean shift: largest distance between a mode's sample mean and\n"
                "the exact one; reward: mean r(X1) / exact E[r]; diversity: mean pairwise distance.\n");
}

}  // namespace

void run_ring_demo(const RingDemoSettings& o) {
    AM_CHECK(o.pretrain_steps > 0 && o.iters > 0 && o.batch > 0 && o.n_eval > 1 && o.K > 0 && o.lr > 0,
             "ring demo: pretraining steps, iterations, batch, evaluation samples, K and lr must be positive");
    const auto t_start = std::chrono::steady_clock::now();
    std::filesystem::create_directories(o.out_dir);
    const data::GaussianMixture ring = data::default_ring();
    Rng rng(o.seed);

    // 1. pretraining
    const finetune::PretrainPreset preset = finetune::pretrain_2d_preset();
    nn::VelocityMLP<float> net(2, preset.width, preset.depth, rng);
    flow::FlowMatchingConfig fm = preset.flow;
    fm.steps = o.pretrain_steps;
    const auto path = parse_path_option(o.path);
    std::printf("== 1. flow matching on the 8-Gaussian ring: VelocityMLP(2, %ld, %ld), %ld steps of %ld, %s path\n",
                long(preset.width), long(preset.depth), fm.steps, long(fm.batch), o.path.c_str());
    std::fflush(stdout);
    const auto log = flow::train_flow_matching(net, *path, [&](Index n, Rng& r) { return ring.sample(n, r); }, fm, rng);
    nn::Checkpoint ck = nn::to_checkpoint(net);
    ck.meta["data"] = "ring";
    ck.meta["path"] = o.path;
    nn::save_checkpoint(o.out_dir + "/base.ckpt", ck);
    std::printf("   final loss %.4f, %.1f s; checkpoint %s/base.ckpt\n", log.loss.back(), log.seconds, o.out_dir.c_str());

    LoadedField base = LoadedField::from_options(o.out_dir + "/base.ckpt", "");
    finetune::LinearReward reward({1.0f, 0.0f});
    const auto target = finetune::exact_tilt(ring, reward, o.lambda);

    // the base's own mode weights, and the tilt they predict
    Rng srng(o.seed + 10);
    const Mat<float> base_ode = flow::draw_samples(base.field(), *path,
        sampler_settings(*path, "ode", "exact", 100), o.n_eval, srng);
    const Mat<float> base_sde = flow::draw_samples(base.field(), *path,
        sampler_settings(*path, "memoryless", "exact", o.K), o.n_eval, srng);
    data::GaussianMixture ring_net = ring;
    ring_net.weights = data::mode_stats(ring, base_ode).weights;
    const auto target_net = finetune::exact_tilt(ring_net, reward, o.lambda);
    const auto base_ev = finetune::evaluate(base_ode, ring, nullptr);
    std::printf("   base model (ODE): mode-weight TV to the ring %.3f, largest mean error %.3f\n", base_ev.tv,
                base_ev.max_mean_error);

    // 2-3. fine-tuning and evaluation
    struct Run { std::string method, noise; };
    const std::vector<Run> runs = {{"am", "memoryless"}, {"am", "constant:0.5"}, {"bptt", "memoryless"}};
    std::vector<RingRow> table;
    auto layer = [](const Mat<float>& x, plot::Rgb color) {
        plot::Layer l;
        l.points = x;
        l.color = color;
        return std::vector<plot::Layer>{l};
    };
    std::vector<plot::Panel> panels = {{"base", layer(base_sde, plot::colors::grey)},
                                       {"exact target", layer(target.sample(o.n_eval, srng), plot::colors::green)}};
    for (const auto& run : runs) {
        std::printf("== fine-tuning: %s under %s, %ld iterations of %ld trajectories, K = %d\n", run.method.c_str(),
                    run.noise.c_str(), o.iters, long(o.batch), o.K);
        std::fflush(stdout);
        Rng frng(o.seed + 20);
        auto ft = make_finetuned(base, 0, 0, frng);
        finetune::FineTuneConfig cfg;
        cfg.method = finetune::parse_method(run.method);
        cfg.lambda = o.lambda;
        cfg.batch = o.batch;
        cfg.adam = nn::AdamConfig{o.lr};
        finetune::FineTuner tuner(*ft, reward, make_grid(*path, run.noise, "exact", o.K), cfg, o.seed + 30);
        const auto summary = run_finetuning([&] { return tuner.iterate(); }, o.iters, std::max<long>(1, o.iters / 5), "   " + run.method);
        Rng erng(o.seed + 40);
        const Mat<float> x_ode = flow::draw_samples(*ft, *path,
            sampler_settings(*path, "ode", "exact", 100), o.n_eval, erng);
        const Mat<float> x_sde = flow::draw_samples(*ft, *path,
            sampler_settings(*path, "memoryless", "exact", o.K), o.n_eval, erng);
        for (const auto& [name, x] : {std::pair<std::string, const Mat<float>&>{"ODE", x_ode}, {"memoryless", x_sde}}) {
            table.push_back({run.method, run.noise, name, finetune::evaluate(x, target, &reward),
                             finetune::evaluate(x, target_net, &reward), summary.seconds_per_iter, summary.peak_rss_mb});
            table.back().ev.check_finite();  // the table never shows nan
            table.back().ev_net.check_finite();
        }
        panels.push_back({run.method + ", " + run.noise, layer(x_sde, plot::colors::blue)});
    }
    print_ring_table(table);
    plot::ScatterOptions so;
    so.limits = plot::Limits{-6, 6, -6, 6};
    so.title = "fine-tuning toward r(x) = x_0, lambda = " + std::to_string(o.lambda).substr(0, 4) +
               " (samples: memoryless SDE)";
    plot::scatter_panels(o.out_dir + "/demo.png", panels, so);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    std::printf("\npicture: %s/demo.png; total %.0f s. These are short runs (%ld iterations of %ld); the\n"
                "full-quality recipe (1200 of 512) is in README.md.\n", o.out_dir.c_str(), total, o.iters, long(o.batch));
}

// ---- the MNIST demo -----------------------------------------------------------------------

namespace {
using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

struct MnistRow {
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

std::string table_markdown(const std::vector<MnistRow>& rows, int digit) {
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

}  // namespace

void run_mnist_demo(const MnistDemoSettings& o) {
    const auto t_start = clock_type::now();
    AM_CHECK(o.digit >= 0 && o.digit <= 9, "--digit " + std::to_string(o.digit) + " is not a digit 0..9");
    const std::vector<double>& lambdas = o.lambdas;
    AM_CHECK(!lambdas.empty(), "mnist demo: no lambda to fine-tune with");
    for (double l : lambdas) AM_CHECK(std::isfinite(l) && l > 0, "mnist demo: lambda " + format_number(l) + " is not positive");
    AM_CHECK(o.iters > 0 && o.n_eval > 0 && o.batch > 0 && o.K > 0, "mnist demo: iterations, evaluation samples, batch and K must be positive");
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
    const finetune::PretrainPreset preset = finetune::pretrain_image_preset();
    flow::FlowMatchingConfig fc = preset.flow;
    fc.steps = o.pretrain_steps;
    fc.batch = o.pretrain_batch;
    fc.adam.lr = o.pretrain_lr;
    if (o.reuse && std::filesystem::exists(base_path)) {
        std::printf("== 2. flow model: reusing %s\n", base_path.c_str());
    } else {
        std::printf("== 2. flow matching: VelocityMLP(%ld, %ld, %ld), %ld steps of %ld, lr %g (cosine to %g), EMA %g\n",
                    long(d.dim()), long(preset.width), long(preset.depth), fc.steps, long(fc.batch), fc.adam.lr,
                    fc.adam.lr * fc.lr_final_fraction, fc.ema_decay);
        std::fflush(stdout);
        Rng rng(o.seed + 1);
        nn::VelocityMLP<float> net(d.dim(), preset.width, preset.depth, rng);
        const ImageFlowResult r = pretrain_image_flow(net, d, fc, rng, Backend::Autograd);
        save_image_flow(base_path, r, d, fc, o.seed + 1);
        std::printf("   final loss %.4f; checkpoint %s\n", r.final_loss, base_path.c_str());
    }
    const double pretrain_s = since(t0);
    std::printf("   %.0f s\n", pretrain_s);
    LoadedField base = LoadedField::from_options(base_path, "");
    AM_CHECK(base.field().dim() == d.dim(), base_path + " is not a model of " + std::to_string(d.dim()) + "-pixel images");

    // the evaluation of one model with both samplers
    std::vector<MnistRow> table;
    std::vector<Mat<float>> base_samples;
    auto evaluate_model = [&](const flow::VelocityField& field, const std::string& name, double lambda,
                              const std::string& grid_name, MnistRow proto) {
        Rng erng(o.seed + 100);  // the same noise for every model
        const Mat<float> x_ode = flow::draw_samples(field, base.path(),
            sampler_settings(base.path(), "ode", o.scheme, o.ode_steps), o.n_eval, erng);
        const Mat<float> x_sde = flow::draw_samples(field, base.path(),
            sampler_settings(base.path(), "memoryless", o.scheme, o.K), o.n_eval, erng);
        for (const auto& [sampler, x] : {std::pair<std::string, const Mat<float>*>{"ODE", &x_ode}, {"memoryless SDE", &x_sde}}) {
            MnistRow r = proto;
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
    evaluate_model(base.field(), "base", 0, "before.png", MnistRow{});
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
            MnistRow r;
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
        MnistRow proto;
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


}  // namespace am::recipes
