#include "cli/common.hpp"

#include <sys/resource.h>

#include <cmath>
#include <fstream>

#include "data/mixture_json.hpp"

namespace am::cli {

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

LoadedField LoadedField::from_options(const std::string& model_path, const std::string& mixture_spec) {
    AM_CHECK(model_path.empty() != mixture_spec.empty(),
             "give exactly one of --model CKPT (a network) and --mixture ring|FILE.json (an exact field)");
    LoadedField f;
    if (!mixture_spec.empty()) {
        f.mixture_ = load_mixture_spec(mixture_spec);
        f.base_ = std::make_unique<flow::MixtureVelocity>(*f.mixture_);
        f.description_ = "exact velocity of the mixture " + mixture_spec;
        return f;
    }
    const nn::Checkpoint ck = nn::load_checkpoint(model_path);
    auto res = ck.meta.find("residual_of_mixture");
    if (res != ck.meta.end()) {
        // a fine-tuned exact field: mixture velocity + residual network
        f.mixture_ = data::parse_mixture_json(res->second, model_path + " (metadata)");
        f.base_ = std::make_unique<flow::MixtureVelocity>(*f.mixture_);
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
    f.description_ = "velocity network " + model_path;
    return f;
}

const flow::VelocityField& LoadedField::field() const {
    if (finetuned_) return *finetuned_;
    return *base_;
}

flow::StepGrid make_grid(const std::string& schedule, const std::string& scheme, int K) {
    AM_CHECK(K > 0, "--steps must be a positive number of sampler steps, got " + std::to_string(K));
    const flow::CondOT path;
    return flow::make_step_grid(path, flow::parse_noise(schedule), K, flow::parse_scheme(scheme));
}

Mat<float> draw_samples(const flow::VelocityField& field, Index n, int K, const std::string& schedule,
                        const std::string& scheme, const std::string& ode_method, Rng& rng,
                        std::vector<Mat<float>>* trajectory) {
    AM_CHECK(n > 0, "--n must be positive");
    ag::NoGrad no_tape;
    Mat<float> x0 = rng.normal<float>(n, field.dim());
    if (schedule == "ode") {
        AM_CHECK(K > 0, "--steps must be positive");
        flow::OdeMethod m;
        if (ode_method == "euler") m = flow::OdeMethod::Euler;
        else if (ode_method == "heun") m = flow::OdeMethod::Heun;
        else throw Error("--ode-method '" + ode_method + "': expected euler or heun");
        return flow::sample_ode(field, std::move(x0), K, m, trajectory);
    }
    return flow::sample_sde(field, make_grid(schedule, scheme, K), std::move(x0), rng, trajectory);
}

std::unique_ptr<finetune::FineTunedModel> make_finetuned(const LoadedField& base, Index width, Index depth,
                                                         Rng& rng) {
    if (auto* net = dynamic_cast<const flow::NetworkVelocity*>(&base.field()))
        return std::make_unique<finetune::CopyOfNetwork>(*net);
    return std::make_unique<finetune::ResidualNetwork>(base.field(), width, depth, rng);
}

FineTuneSummary run_finetuning(finetune::FineTuner& tuner, long iters, long report_every, const std::string& label) {
    AM_CHECK(iters > 0, "--iters must be positive");
    reset_peak_rss();
    FineTuneSummary s;
    double total = 0, reward_acc = 0;
    long acc_n = 0;
    for (long i = 1; i <= iters; ++i) {
        s.last = tuner.iterate();
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

void save_finetuned(const std::string& path, const finetune::FineTunedModel& ft, const LoadedField& base) {
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
    ck.meta["finetuned"] = "1";
    nn::save_checkpoint(path, ck);
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

void reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";  // resets VmHWM to the current resident size
}

void require_positive(double v, const std::string& option) {
    AM_CHECK(v > 0 && std::isfinite(v), option + " must be positive, got " + std::to_string(v));
}

}  // namespace am::cli
