// amflow eval: samples against the exact tilted target of a mixture.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "data/csv.hpp"

namespace am::cli {

namespace {
struct EvalOptions {
    std::string samples, mixture = "ring", reward = "linear:1,0";
    double lambda = 0.5;
};

void run_eval(const EvalOptions& o) {
    const Mat<float> x = data::read_samples_csv(o.samples);
    const data::GaussianMixture base = load_mixture_spec(o.mixture);
    AM_CHECK(cols(x) == base.dim(), o.samples + " has " + std::to_string(cols(x)) + " columns, the mixture is " +
                                        std::to_string(base.dim()) + "-D");
    AM_CHECK(rows(x) > 0, o.samples + " holds no samples");
    auto reward = finetune::parse_reward(o.reward, base.dim());
    const auto target = o.lambda == 0 ? base : finetune::exact_tilt(base, *reward, o.lambda);
    std::printf("%s\n", finetune::evaluate(x, target, reward.get()).to_json().c_str());
}
}  // namespace

void register_eval(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    auto* cmd = app.add_subcommand("eval", "Compare samples with the exact tilted mixture; prints JSON");
    cmd->add_option("--samples", o->samples, "samples CSV")->required();
    cmd->add_option("--mixture", o->mixture, "the base mixture: ring | FILE.json")->capture_default_str();
    cmd->add_option("--reward", o->reward, "linear:c0,c1 | quadratic:a0,a1,tau")->capture_default_str();
    cmd->add_option("--lambda", o->lambda, "reward multiplier (0: compare with the base)")->capture_default_str();
    cmd->callback([o] { run_eval(*o); });
}

}  // namespace am::cli
