// Design: docs/design.md#command-line
#include "cli/common.hpp"

#include "device/trainer.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>

#include "core/parse.hpp"

#include "data/mixture_json.hpp"
#include "flow/flow_matching.hpp"
#include "plot/plots.hpp"

namespace am::cli {

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
    require_positive(double(hidden), "--hidden");
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

flow::FlowMatchingConfig image_flow_config() {
    flow::FlowMatchingConfig cfg;
    cfg.steps = 16000;
    cfg.batch = 128;
    cfg.adam.lr = 1e-3;
    cfg.lr_final_fraction = 0.1;
    cfg.ema_decay = 0.999;
    cfg.progress_seconds = 15;
    return cfg;
}

ImageFlowResult pretrain_image_flow(nn::VelocityMLP<float>& net, const data::ImageData& d,
                                    const flow::FlowMatchingConfig& cfg, Rng& rng, Backend backend,
                                    const flow::Schedule& path) {
    require_positive(double(cfg.steps), "--steps");
    require_positive(double(cfg.batch), "--batch");
    require_positive(cfg.adam.lr, "--lr");
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
                     const flow::FlowMatchingConfig& cfg, std::uint64_t seed, const flow::Schedule& path) {
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

data::GaussianMixture load_mixture_spec(const std::string& spec) {
    if (spec == "ring") return data::default_ring();
    return data::load_mixture_json(spec);
}

std::optional<data::GaussianMixture> mixture_of_checkpoint(const nn::Checkpoint& ck) {
    auto it = ck.meta.find("data");
    if (it == ck.meta.end()) return std::nullopt;
    if (it->second == "ring" && !ck.meta.count("mixture_json")) return data::default_ring();
    auto m = ck.meta.find("mixture_json");
    if (m != ck.meta.end()) return data::parse_mixture_json(m->second, "checkpoint metadata");
    return std::nullopt;
}

std::shared_ptr<const flow::Schedule> parse_path_option(const std::string& name) {
    if (name == "condot") return std::make_shared<flow::CondOT>();
    if (name == "vp") return std::make_shared<flow::VPCosine>();
    throw Error("--path '" + name + "': expected condot or vp");
}

std::string path_option_name(const flow::Schedule& path) {
    if (dynamic_cast<const flow::CondOT*>(&path)) return "condot";
    if (dynamic_cast<const flow::VPCosine*>(&path)) return "vp";
    throw Error("path_option_name: no --path name for the path " + path.name());
}

std::string path_of_checkpoint(const nn::Checkpoint& ck) {
    auto it = ck.meta.find("path");
    return it == ck.meta.end() ? "condot" : it->second;
}

LoadedField LoadedField::from_options(const std::string& model_path, const std::string& mixture_spec,
                                      const std::string& path_option) {
    AM_CHECK(model_path.empty() != mixture_spec.empty(),
             "give exactly one of --model CKPT (a network) and --mixture ring|FILE.json (an exact field)");
    LoadedField f;
    if (!mixture_spec.empty()) {
        f.path_ = parse_path_option(path_option.empty() ? "condot" : path_option);
        f.mixture_ = load_mixture_spec(mixture_spec);
        f.base_ = std::make_unique<flow::MixtureVelocity>(*f.mixture_, f.path_);
        f.description_ = "exact velocity of the mixture " + mixture_spec +
                         (path_option_name(*f.path_) == "condot" ? "" : " on the " + path_option_name(*f.path_) + " path");
        return f;
    }
    const nn::Checkpoint ck = nn::load_checkpoint(model_path);
    const std::string recorded = path_of_checkpoint(ck);
    f.path_ = parse_path_option(recorded);  // an unknown name in the metadata is an error too
    AM_CHECK(path_option.empty() || path_option == recorded,
             "--path " + path_option + ": " + model_path + " was trained on the " + recorded +
                 " path (its metadata); give --path " + recorded + " or leave --path out");
    auto res = ck.meta.find("residual_of_mixture");
    if (res != ck.meta.end()) {
        // a fine-tuned exact field: mixture velocity + residual network
        f.mixture_ = data::parse_mixture_json(res->second, model_path + " (metadata)");
        f.base_ = std::make_unique<flow::MixtureVelocity>(*f.mixture_, f.path_);
        nn::checkpoint_layer_sizes(ck);  // the shapes, before anything is allocated
        Rng rng(0);
        auto ft = std::make_unique<finetune::ResidualNetwork>(*f.base_, ck.get_int("width"), ck.get_int("depth"), rng);
        nn::load_parameters(ck, ft->parameters(), model_path);
        f.finetuned_ = std::move(ft);
        f.description_ = "mixture velocity + fine-tuned residual network (" + model_path + ")";
        return f;
    }
    f.net_ = std::make_unique<nn::VelocityMLP<float>>(nn::velocity_mlp_from_checkpoint<float>(ck));
    f.base_ = std::make_unique<flow::NetworkVelocity>(*f.net_);
    f.mixture_ = mixture_of_checkpoint(ck);
    f.image_ = image_of_checkpoint(ck);
    if (f.image_)
        AM_CHECK(Index(f.image_->rows) * f.image_->cols == f.net_->dim(),
                 model_path + ": the metadata says images of " + std::to_string(f.image_->rows) + " x " +
                     std::to_string(f.image_->cols) + " but the network is " + std::to_string(f.net_->dim()) + "-D");
    f.description_ = "velocity network " + model_path;
    return f;
}

const flow::VelocityField& LoadedField::field() const {
    if (finetuned_) return *finetuned_;
    return *base_;
}

flow::StepGrid make_grid(const flow::Schedule& path, const std::string& schedule, const std::string& scheme, int K) {
    AM_CHECK(K > 0, "--steps must be a positive number of sampler steps, got " + std::to_string(K));
    if (schedule.rfind("constant:", 0) == 0) {
        const auto sigma = parse_double(schedule.substr(9));
        AM_CHECK(!sigma || (*sigma >= 0 && *sigma <= kMaxSigma),
                 "--schedule " + schedule + ": SIGMA must be in (0, " + format_number(kMaxSigma) + "]");
    }
    return flow::make_step_grid(path, flow::parse_noise(schedule), K, flow::parse_scheme(scheme));
}

flow::SamplerSettings sampler_settings(const flow::Schedule& path, const std::string& schedule,
                                       const std::string& scheme, int K, const std::string& ode_method) {
    AM_CHECK(K > 0, "--steps must be a positive number of sampler steps, got " + std::to_string(K));
    flow::SamplerSettings s;
    s.K = K;
    AM_CHECK(ode_method == "euler" || ode_method == "heun",
             "--ode-method '" + ode_method + "': expected euler or heun");
    s.ode_method = flow::parse_ode_method(ode_method);
    if (schedule == "ode") {
        s.noise = flow::parse_noise(schedule);
        return s;
    }
    make_grid(path, schedule, scheme, K);  // validates --schedule and --scheme as the fine-tuner sees them
    s.noise = flow::parse_noise(schedule);
    s.scheme = flow::parse_scheme(scheme);
    return s;
}

std::unique_ptr<finetune::FineTunedModel> make_finetuned(const LoadedField& base, Index width, Index depth,
                                                         Rng& rng) {
    if (auto* net = dynamic_cast<const flow::NetworkVelocity*>(&base.field()))
        return std::make_unique<finetune::CopyOfNetwork>(*net);
    return std::make_unique<finetune::ResidualNetwork>(base.field(), width, depth, rng);
}

Backend parse_backend(const std::string& name) {
    if (name == "autograd") return Backend::Autograd;
    if (name == "thrust") {
        device::require_device();  // a CUDA build without a GPU: one line, before any work
        return Backend::Thrust;
    }
    throw Error("--backend '" + name + "': expected autograd or thrust");
}

std::string backend_name(Backend b) {
    return b == Backend::Autograd ? "autograd" : std::string("thrust (") + device::device_system() + ")";
}

flow::TrainLog train_flow(Backend backend, nn::VelocityMLP<float>& net, const flow::Schedule& schedule,
                          const std::function<Mat<float>(Index, Rng&)>& data, const flow::FlowMatchingConfig& cfg,
                          Rng& rng, nn::VelocityMLP<float>* ema) {
    if (backend == Backend::Thrust) return device::train_flow_matching(net, schedule, data, cfg, rng, ema);
    return flow::train_flow_matching(net, schedule, data, cfg, rng, ema);
}

FineTuneSummary run_finetuning(const std::function<finetune::IterationStats()>& iterate, long iters,
                               long report_every, const std::string& label) {
    AM_CHECK(iters > 0, "--iters must be positive");
    reset_peak_rss();
    FineTuneSummary s;
    double total = 0, reward_acc = 0;
    long acc_n = 0;
    for (long i = 1; i <= iters; ++i) {
        s.last = iterate();
        total += s.last.seconds;
        reward_acc += s.last.reward_mean;
        ++acc_n;
        if (report_every > 0 && (i % report_every == 0 || i == iters)) {
            const double per = total / double(i);
            std::fprintf(stderr, "%s: iter %ld/%ld  loss %.4g  mean reward %.4f  %.3f s/iter  %.0f s left\n",
                         label.c_str(), i, iters, s.last.loss, reward_acc / double(acc_n), per,
                         per * double(iters - i));
            reward_acc = 0;
            acc_n = 0;
        }
    }
    s.seconds_per_iter = total / double(iters);
    s.peak_rss_mb = peak_rss_mb();
    return s;
}

nn::Checkpoint finetuned_checkpoint(const finetune::FineTunedModel& ft, const LoadedField& base) {
    nn::Checkpoint ck;
    if (auto* copy = dynamic_cast<const finetune::CopyOfNetwork*>(&ft)) {
        ck = nn::to_checkpoint(copy->net());
    } else if (auto* res = dynamic_cast<const finetune::ResidualNetwork*>(&ft)) {
        ck = nn::to_checkpoint(res->residual());
        AM_CHECK(base.mixture().has_value(), "save: a residual model needs its base mixture");
        ck.meta["residual_of_mixture"] = data::mixture_to_json(*base.mixture());
    } else {
        throw Error("save: this kind of fine-tuned model has no checkpoint format");
    }
    if (base.mixture()) {
        ck.meta["data"] = "mixture";
        ck.meta["mixture_json"] = data::mixture_to_json(*base.mixture());
    }
    if (base.image()) put_image_meta(ck, *base.image());
    ck.meta["path"] = path_option_name(base.path());
    ck.meta["finetuned"] = "1";
    return ck;
}

void save_finetuned(const std::string& path, const finetune::FineTunedModel& ft, const LoadedField& base) {
    nn::save_checkpoint(path, finetuned_checkpoint(ft, base));
}

double peak_rss_mb() {
    // VmHWM ("high water mark") in /proc/self/status: resettable, unlike getrusage's
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

double current_rss_mb() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

void reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";  // resets VmHWM to the current resident size
}

CLI::Validator integer_in(long lo, long hi) {
    const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return CLI::Validator(
        [lo, hi, range](std::string& s) -> std::string {
            const auto v = parse_long(s);
            if (!v || *v < lo || *v > hi) return "must be an integer in " + range + ", got '" + s + "'";
            return "";
        },
        "INT in " + range);
}

CLI::Validator real_in(double lo, double hi, bool open_lo, bool open_hi) {
    const std::string range = (open_lo ? "(" : "[") + format_number(lo) + ", " + format_number(hi) + (open_hi ? ")" : "]");
    return CLI::Validator(
        [=](std::string& s) -> std::string {
            const auto v = parse_double(s);
            if (!v || !std::isfinite(*v) || *v < lo || *v > hi || (open_lo && *v == lo) || (open_hi && *v == hi))
                return "must be a number in " + range + ", got '" + s + "'";
            return "";
        },
        "NUMBER in " + range);
}

CLI::Validator seed_value() { return integer_in(0, std::numeric_limits<long>::max()); }

void check_ode_method(const CLI::App& cmd, const std::string& schedule) {
    AM_CHECK(schedule == "ode" || cmd.count("--ode-method") == 0,
             "--ode-method is for --schedule ode; with the SDE schedule '" + schedule +
                 "' the sampler is the SDE's (--scheme)");
}

void check_loss_steps(const std::string& spec, int K) {
    if (spec.rfind("last:", 0) != 0) return;
    const auto n = parse_long(spec.substr(5));
    AM_CHECK(n && *n >= 1 && *n <= K, "--loss-steps " + spec + ": N must be in [1, K] with K = --steps = " +
                                          std::to_string(K));
}

void require_positive(double v, const std::string& option) {
    AM_CHECK(v > 0 && std::isfinite(v), option + " must be positive, got " + std::to_string(v));
}

}  // namespace am::cli
