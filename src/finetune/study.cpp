// Design: docs/design.md#the-family-study
#include "finetune/study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/parse.hpp"
#include "finetune/model.hpp"
#include "finetune/evaluation.hpp"
#include "finetune/tilt.hpp"
#include "flow/exact_fields.hpp"
#include "flow/flow_matching.hpp"
#include "flow/network_field.hpp"
#include "flow/sampler.hpp"

namespace am::finetune {

std::string StudyRun::key(const std::string& case_name) const {
    return case_name + "/" + method + "/" + base + "/" + std::to_string(seed);
}

double StudyResult::reward_error() const {
    return reward_exact != 0 ? std::abs(reward_mean / reward_exact - 1) : std::abs(reward_mean);
}

std::string StudyResult::to_json() const {
    nlohmann::ordered_json j;
    j["case"] = case_name;
    j["method"] = method;
    j["base"] = base;
    j["seed"] = seed;
    j["iters"] = iters;
    j["tv"] = tv;
    j["tv_own"] = tv_own;
    j["base_tv"] = base_tv;
    j["reward_mean"] = reward_mean;
    j["reward_exact"] = reward_exact;
    j["seconds"] = seconds;
    return j.dump();
}

StudyResult StudyResult::from_json(const std::string& line) {
    try {
        const nlohmann::json j = nlohmann::json::parse(line);
        StudyResult r;
        r.case_name = j.at("case").get<std::string>();
        r.method = j.at("method").get<std::string>();
        r.base = j.at("base").get<std::string>();
        r.seed = j.at("seed").get<std::uint64_t>();
        r.iters = j.at("iters").get<long>();
        r.tv = j.at("tv").get<double>();
        r.tv_own = j.at("tv_own").get<double>();
        r.base_tv = j.at("base_tv").get<double>();
        r.reward_mean = j.at("reward_mean").get<double>();
        r.reward_exact = j.at("reward_exact").get<double>();
        r.seconds = j.at("seconds").get<double>();
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("a study result line is not what `amflow study` writes (") + e.what() + ")");
    }
}

nn::VelocityMLP<float> pretrain_study_base(const FamilyCase& c, const StudySettings& s, std::uint64_t seed) {
    Rng rng(seed);
    const PretrainPreset p = pretrain_2d_preset();  // amflow pretrain's 2-D defaults, s.pretrain_steps of 1024
    nn::VelocityMLP<float> net(c.mixture.dim(), p.width, p.depth, rng);
    flow::FlowMatchingConfig cfg = p.flow;
    cfg.steps = s.pretrain_steps;
    cfg.progress_seconds = 0;
    const flow::CondOT path;
    flow::train_flow_matching(net, path, [&](Index n, Rng& r) { return c.mixture.sample(n, r); }, cfg, rng);
    return net;
}

namespace {
// method -> (fine-tuning method, noise of the training trajectories)
std::pair<Method, std::string> method_and_noise(const std::string& m) {
    if (m == "am") return {Method::AM, "memoryless"};
    if (m == "am-constant") return {Method::AM, "constant:0.5"};
    if (m == "basic-am") return {Method::BasicAM, "memoryless"};
    if (m == "bptt") return {Method::BPTT, "memoryless"};
    throw Error("study: method '" + m + "': expected am, am-constant, basic-am or bptt");
}
}  // namespace

StudyResult run_study(const FamilyCase& c, const StudyRun& run, const StudySettings& s,
                      const nn::VelocityMLP<float>* network, Mat<float>* samples) {
    AM_CHECK(run.base == "exact" || run.base == "network",
             "study: base '" + run.base + "': expected exact or network");
    AM_CHECK(run.base == "exact" || network, "study: a network-base run needs its pretrained base");
    AM_CHECK(s.iters_scale > 0 && s.eval_n > 0, "study: iters_scale and eval_n must be positive");
    AM_CHECK(!s.lr_final_fraction || (*s.lr_final_fraction > 0 && *s.lr_final_fraction <= 1),
             "study: the final learning-rate fraction must be in (0, 1]");
    const auto t0 = std::chrono::steady_clock::now();
    const auto [method, noise] = method_and_noise(run.method);
    const std::unique_ptr<Reward> reward = c.make_reward();
    const flow::CondOT path;
    const Recipe r = run.base == "exact" ? exact_base_recipe() : network_base_recipe();
    Rng rng(run.seed);
    std::unique_ptr<flow::VelocityField> base;
    std::unique_ptr<FineTunedModel> ft;
    if (run.base == "exact") {
        base = std::make_unique<flow::MixtureVelocity>(c.mixture);
        ft = std::make_unique<ResidualNetwork>(*base, r.width, r.depth, rng);
    } else {
        auto nv = std::make_unique<flow::NetworkVelocity>(*network);
        ft = std::make_unique<CopyOfNetwork>(*nv);
        base = std::move(nv);
    }
    FineTuneConfig cfg = r.cfg;
    cfg.method = method;
    cfg.lambda = c.lambda;
    if (s.lr_final_fraction) cfg.lr_final_fraction = *s.lr_final_fraction;
    const long iters = std::max<long>(1, std::lround(double(r.iters) * s.iters_scale));
    cfg.iters = iters;
    const flow::StepGrid grid = flow::make_step_grid(path, flow::parse_noise(noise), r.K, flow::Scheme::Exact);
    FineTuner tuner(*ft, *reward, grid, cfg, run.seed + 1);
    for (long i = 0; i < iters; ++i) tuner.iterate();

    const flow::SamplerSettings memoryless{flow::parse_noise("memoryless"), flow::Scheme::Exact, r.K};
    Rng erng(run.seed + 2);
    const Mat<float> x = flow::draw_samples(*ft, path, memoryless, s.eval_n, erng);
    const data::GaussianMixture target = c.target();
    const Evaluation ev = evaluate(x, target, reward.get());
    ev.check_finite();
    StudyResult res;
    res.case_name = c.name;
    res.method = run.method;
    res.base = run.base;
    res.seed = run.seed;
    res.iters = iters;
    res.tv = ev.tv;
    res.reward_mean = ev.reward_mean;
    res.reward_exact = ev.reward_exact;
    if (run.base == "network") {
        // the base's own mode weights, and the tilt they imply
        Rng brng(run.seed + 3);
        const Mat<float> xb = flow::draw_samples(*base, path, memoryless, s.eval_n, brng);
        data::GaussianMixture own = c.mixture;
        own.weights = data::mode_stats(c.mixture, xb).weights;
        res.base_tv = evaluate(xb, c.mixture, nullptr).tv;
        res.tv_own = evaluate(x, exact_tilt(own, *reward, c.lambda), reward.get()).tv;
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (samples) *samples = x;
    return res;
}

namespace {
double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
std::string fmt(double v, int digits = 3) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}
// TV_own and base TV are -1 where they do not apply (exact bases)
std::string fmt_tv(double v) { return v < 0 ? "-" : fmt(v); }
}  // namespace

std::string study_table(const std::vector<StudyResult>& results) {
    std::ostringstream out;
    // summary per (method, base); the figure judged is TV for exact bases, TV_own for network bases
    std::map<std::pair<std::string, std::string>, std::vector<const StudyResult*>> groups;
    for (const StudyResult& r : results) groups[{r.method, r.base}].push_back(&r);
    out << "| method | base | runs | cases | median TV | worst TV | median spread over seeds | largest reward error "
           "| median s |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& [k, runs] : groups) {
        std::vector<double> tv, secs;
        double worst = 0, reward_err = 0;
        std::map<std::string, std::vector<double>> by_case;
        for (const StudyResult* r : runs) {
            const double judged = r->base == "network" ? r->tv_own : r->tv;
            tv.push_back(judged);
            secs.push_back(r->seconds);
            worst = std::max(worst, judged);
            reward_err = std::max(reward_err, r->reward_error());
            by_case[r->case_name].push_back(judged);
        }
        std::vector<double> spreads;
        for (const auto& [name, v] : by_case)
            if (v.size() > 1) spreads.push_back(*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end()));
        out << "| " << k.first << " | " << k.second << " | " << runs.size() << " | " << by_case.size() << " | "
            << fmt(median(tv)) << " | " << fmt(worst) << " | " << (spreads.empty() ? "-" : fmt(median(spreads))) << " | "
            << fmt(100 * reward_err, 1) << "% | " << fmt(median(secs), 0) << " |\n";
    }
    out << "\nTV: mode-weight total variation to the exact tilt (network bases: TV_own, to the tilt of the base's "
           "own mode weights, is the judged figure; TV and the base's own TV to its mixture are in the rows below). "
           "Reward error: |mean r / exact E r - 1|.\n\n";
    std::vector<const StudyResult*> rows;
    for (const StudyResult& r : results) rows.push_back(&r);
    std::sort(rows.begin(), rows.end(), [](const StudyResult* a, const StudyResult* b) {
        return std::tie(a->case_name, a->method, a->base, a->seed) < std::tie(b->case_name, b->method, b->base, b->seed);
    });
    out << "| case | method | base | seed | iterations | TV | TV_own | base TV | reward / exact | s |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n";
    for (const StudyResult* r : rows)
        out << "| " << r->case_name << " | " << r->method << " | " << r->base << " | " << r->seed << " | " << r->iters
            << " | " << fmt(r->tv) << " | " << fmt_tv(r->tv_own) << " | " << fmt_tv(r->base_tv) << " | "
            << fmt(r->reward_mean) << " / " << fmt(r->reward_exact) << " | " << fmt(r->seconds, 0) << " |\n";
    return out.str();
}

}  // namespace am::finetune
