// Design: docs/design.md#recipes
#include "recipes/models.hpp"

#include "core/parse.hpp"
#include "data/mixture_json.hpp"

namespace am::recipes {

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

std::shared_ptr<const flow::Path> parse_path_option(const std::string& name) {
    if (name == "condot") return std::make_shared<flow::CondOT>();
    if (name == "vp") return std::make_shared<flow::VPCosine>();
    throw Error("--path '" + name + "': expected condot or vp");
}

std::string path_option_name(const flow::Path& path) {
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
    nn::freeze(*f.net_);  // a loaded network is a base: sampled and fine-tuned from, never trained
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

std::unique_ptr<finetune::FineTunedModel> make_finetuned(const LoadedField& base, Index width, Index depth,
                                                         Rng& rng) {
    if (auto* net = dynamic_cast<const flow::NetworkVelocity*>(&base.field()))
        return std::make_unique<finetune::CopyOfNetwork>(*net);
    return std::make_unique<finetune::ResidualNetwork>(base.field(), width, depth, rng);
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

flow::StepGrid make_grid(const flow::Path& path, const std::string& noise, const std::string& scheme, int K) {
    AM_CHECK(K > 0, "--steps must be a positive number of sampler steps, got " + std::to_string(K));
    if (noise.rfind("constant:", 0) == 0) {
        const auto sigma = parse_double(noise.substr(9));
        AM_CHECK(!sigma || (*sigma >= 0 && *sigma <= kMaxSigma),
                 "--noise " + noise + ": SIGMA must be in (0, " + format_number(kMaxSigma) + "]");
    }
    return flow::make_step_grid(path, flow::parse_noise(noise), K, flow::parse_scheme(scheme));
}

flow::SamplerSettings sampler_settings(const flow::Path& path, const std::string& noise,
                                       const std::string& scheme, int K, const std::string& ode_method) {
    AM_CHECK(K > 0, "--steps must be a positive number of sampler steps, got " + std::to_string(K));
    flow::SamplerSettings s;
    s.K = K;
    AM_CHECK(ode_method == "euler" || ode_method == "heun",
             "--ode-method '" + ode_method + "': expected euler or heun");
    s.ode_method = flow::parse_ode_method(ode_method);
    if (noise == "ode") {
        s.noise = flow::parse_noise(noise);
        return s;
    }
    make_grid(path, noise, scheme, K);  // validates --noise and --scheme as the fine-tuner sees them
    s.noise = flow::parse_noise(noise);
    s.scheme = flow::parse_scheme(scheme);
    return s;
}

}  // namespace am::recipes
