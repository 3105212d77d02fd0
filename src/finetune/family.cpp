// Design: docs/design.md#a-family-of-closed-form-problems
#include "finetune/family.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "data/file_io.hpp"
#include "data/mixture_json.hpp"
#include "finetune/tilt.hpp"

namespace am::finetune {

using data::GaussianMixture;

namespace {

// x rounded to `digits` decimals (an integer divided by 10^digits: the
// nearest double to the decimal), so that the files hold short decimals and
// the reward spec string is exactly what the generator used.
double round_to(double x, int digits) {
    const double p = std::pow(10.0, digits);
    return std::round(x * p) / p;
}

double uniform(Rng& rng, double lo, double hi) { return lo + (hi - lo) * rng.uniform(); }

// A point uniform in the disk of radius r.
std::pair<double, double> in_disk(Rng& rng, double r) {
    const double rho = r * std::sqrt(rng.uniform()), phi = 2 * M_PI * rng.uniform();
    return {rho * std::cos(phi), rho * std::sin(phi)};
}

// The std of N(., S) along the unit vector u: sqrt(u^T S u).
double std_along(const Mat<double>& S, double ux, double uy) {
    return std::sqrt(S(0, 0) * ux * ux + 2 * S(0, 1) * ux * uy + S(1, 1) * uy * uy);
}

// Every pair of components of `m` at least z (s_i + s_j) apart, s the std
// along the line between their means.
bool separated(const GaussianMixture& m, double z) {
    for (Index i = 0; i < m.size(); ++i)
        for (Index j = i + 1; j < m.size(); ++j) {
            const double dx = m.means(j, 0) - m.means(i, 0), dy = m.means(j, 1) - m.means(i, 1);
            const double dist = std::hypot(dx, dy);
            if (dist < z * (std_along(m.covs[i], dx / dist, dy / dist) + std_along(m.covs[j], dx / dist, dy / dist)))
                return false;
        }
    return true;
}

std::string number_text(double v) {
    std::ostringstream s;
    s << v;  // the rounded values print exactly as drawn (6 significant digits)
    return s.str();
}

// One draw of a case (not yet checked against the acceptance rules).
FamilyCase draw_case(Rng& rng, const FamilyRanges& R) {
    FamilyCase c;
    const int n = R.min_modes + int(rng.below(std::uint64_t(R.max_modes - R.min_modes + 1)));
    // covariances: isotropic, or (in half of the cases) some modes anisotropic,
    // S = Rot(theta) diag(s1^2, s2^2) Rot(theta)^T
    const bool anisotropic_case = rng.uniform() < 0.5;
    std::vector<Mat<double>> covs;
    double s_max = 0;
    for (int k = 0; k < n; ++k) {
        Mat<double> S = zeros<double>(2, 2);
        if (anisotropic_case && rng.uniform() < 0.6) {
            const double s1 = uniform(rng, R.min_std, R.max_std), s2 = uniform(rng, R.min_std, R.max_std);
            const double th = M_PI * rng.uniform(), co = std::cos(th), si = std::sin(th);
            S(0, 0) = round_to(co * co * s1 * s1 + si * si * s2 * s2, 4);
            S(1, 1) = round_to(si * si * s1 * s1 + co * co * s2 * s2, 4);
            S(0, 1) = S(1, 0) = round_to(co * si * (s1 * s1 - s2 * s2), 4);
            s_max = std::max({s_max, s1, s2});
        } else {
            const double s = round_to(uniform(rng, R.min_std, R.max_std), 3);
            S(0, 0) = S(1, 1) = s * s;
            s_max = std::max(s_max, s);
        }
        covs.push_back(S);
    }
    // centres: jittered on a ring whose chord keeps neighbours apart, or
    // scattered in a disk; the whole set shifted off the origin in 70% of the cases
    double cx = 0, cy = 0;
    if (rng.uniform() < 0.7) std::tie(cx, cy) = in_disk(rng, 2.5);
    Mat<double> means = zeros<double>(n, 2);
    double extent;
    if (rng.uniform() < 0.5) {
        extent = std::max(2.5, R.separation_z * s_max / std::sin(M_PI / n)) * uniform(rng, 1.0, 1.2);
        const double phase = 2 * M_PI * rng.uniform();
        for (int k = 0; k < n; ++k) {
            const double a = phase + 2 * M_PI * (k + uniform(rng, -0.1, 0.1)) / n;
            const double r = extent * uniform(rng, 0.95, 1.05);
            means(k, 0) = cx + r * std::cos(a);
            means(k, 1) = cy + r * std::sin(a);
        }
    } else {
        // each centre drawn again (up to 200 times) until it is apart from
        // the ones before it; a set that still fails is rejected below
        extent = 2.2 * std::sqrt(double(n)) * s_max / 0.5;
        for (int k = 0; k < n; ++k)
            for (int tries = 0; tries < 200; ++tries) {
                std::tie(means(k, 0), means(k, 1)) = in_disk(rng, extent);
                bool apart = true;
                for (int j = 0; j < k && apart; ++j) {
                    const double dx = means(k, 0) - means(j, 0), dy = means(k, 1) - means(j, 1);
                    const double dist = std::hypot(dx, dy);
                    apart = dist >= R.separation_z * (std_along(covs[std::size_t(k)], dx / dist, dy / dist) +
                                                      std_along(covs[std::size_t(j)], dx / dist, dy / dist));
                }
                if (apart) break;
            }
        for (int k = 0; k < n; ++k) {
            means(k, 0) += cx;
            means(k, 1) += cy;
        }
    }
    for (auto& v : means) v = round_to(v, 3);
    std::vector<double> w(static_cast<std::size_t>(n));
    for (auto& v : w) v = round_to(uniform(rng, 1.0, R.max_weight_ratio), 3);
    c.mixture.weights = w;
    c.mixture.means = means;
    c.mixture.covs = covs;
    c.mixture.validate();

    // reward
    if (rng.uniform() < 0.5) {
        const double norm = uniform(rng, R.min_linear_norm, R.max_linear_norm), th = 2 * M_PI * rng.uniform();
        c.reward = "linear:" + number_text(round_to(norm * std::cos(th), 3)) + "," +
                   number_text(round_to(norm * std::sin(th), 3));
    } else {
        auto [ax, ay] = in_disk(rng, 0.9 * extent);
        const double tau = round_to(uniform(rng, R.min_tau, R.max_tau), 2);
        c.reward = "quadratic:" + number_text(round_to(cx + ax, 3)) + "," + number_text(round_to(cy + ay, 3)) +
                   "," + number_text(tau);
    }
    c.lambda = round_to(uniform(rng, R.min_lambda, R.max_lambda), 2);
    return c;
}

bool acceptable(const FamilyCase& c, const FamilyRanges& R) {
    if (!separated(c.mixture, R.separation_z)) return false;
    const auto reward = c.make_reward();
    const GaussianMixture t = exact_tilt(c.mixture, *reward, c.lambda);
    if (!separated(t, R.separation_z)) return false;
    if (data::total_variation(c.mixture.weights, t.weights) < R.min_base_tv) return false;
    for (double w : t.weights)
        if (w > R.max_target_weight) return false;
    return std::abs(expected_reward(t, *reward)) >= R.min_abs_reward;
}

}  // namespace

GaussianMixture FamilyCase::target() const { return exact_tilt(mixture, *make_reward(), lambda); }

FamilyCase family_case(std::uint64_t seed, int index, const FamilyRanges& ranges) {
    AM_CHECK(index >= 0, "family: the case index must be >= 0");
    Rng rng(seed * 0x9E3779B97F4A7C15ull + std::uint64_t(index) * 0xD1B54A32D192ED03ull + 1);
    for (int attempt = 0; attempt < 100000; ++attempt) {
        FamilyCase c = draw_case(rng, ranges);
        if (!acceptable(c, ranges)) continue;
        c.name = "family-" + std::to_string(seed) + "-" + (index < 10 ? "0" : "") + std::to_string(index);
        c.family_seed = seed;
        c.index = index;
        return c;
    }
    throw Error("family: no acceptable case in 100000 draws (seed " + std::to_string(seed) + ", case " +
                std::to_string(index) + "): the ranges cannot be met together");
}

std::vector<FamilyCase> family(std::uint64_t seed, int n, const FamilyRanges& ranges) {
    std::vector<FamilyCase> out;
    for (int i = 0; i < n; ++i) out.push_back(family_case(seed, i, ranges));
    return out;
}

FamilyCase ring_case() {
    FamilyCase c;
    c.name = "ring";
    c.mixture = data::default_ring();
    c.reward = "linear:1,0";
    c.lambda = 0.5;
    return c;
}

std::string save_case(const std::string& dir, const FamilyCase& c) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    AM_CHECK(!ec, "family: cannot create the folder " + dir + ": " + ec.message());
    data::save_mixture_json((fs::path(dir) / (c.name + ".json")).string(), c.mixture);
    nlohmann::ordered_json j;
    j["name"] = c.name;
    j["mixture"] = c.name + ".json";
    j["reward"] = c.reward;
    j["lambda"] = c.lambda;
    if (c.index >= 0) {
        j["family_seed"] = c.family_seed;
        j["index"] = c.index;
    }
    const std::string path = (fs::path(dir) / (c.name + ".case.json")).string();
    data::write_file_atomic(path, j.dump() + "\n");
    return path;
}

FamilyCase load_case(const std::string& case_path) {
    using nlohmann::json;
    auto bad = [&](const std::string& what) { return Error(case_path + ": case JSON: " + what); };
    json j;
    try {
        j = json::parse(data::read_file(case_path));
    } catch (const json::parse_error& e) {
        throw bad(std::string("invalid JSON: ") + e.what());
    }
    if (!j.is_object()) throw bad("the top level must be an object");
    for (const auto& item : j.items())
        if (item.key() != "name" && item.key() != "mixture" && item.key() != "reward" && item.key() != "lambda" &&
            item.key() != "family_seed" && item.key() != "index")
            throw bad("key \"" + item.key() +
                      "\" is not known (expected name, mixture, reward, lambda, family_seed, index)");
    for (const char* key : {"name", "mixture", "reward"})
        if (!j.contains(key) || !j[key].is_string()) throw bad(std::string("\"") + key + "\" must be a string");
    if (!j.contains("lambda") || !j["lambda"].is_number()) throw bad("\"lambda\" must be a number");
    FamilyCase c;
    c.name = j["name"].get<std::string>();
    c.reward = j["reward"].get<std::string>();
    c.lambda = j["lambda"].get<double>();
    if (!(c.lambda > 0) || !std::isfinite(c.lambda)) throw bad("\"lambda\" must be a positive number");
    if (j.contains("index")) {
        if (!j["index"].is_number_unsigned() || !j.contains("family_seed") || !j["family_seed"].is_number_unsigned())
            throw bad("\"index\" and \"family_seed\" must be non-negative integers, given together");
        c.index = j["index"].get<int>();
        c.family_seed = j["family_seed"].get<std::uint64_t>();
    }
    const auto mixture_path = std::filesystem::path(case_path).parent_path() / j["mixture"].get<std::string>();
    c.mixture = data::load_mixture_json(mixture_path.string());
    try {
        c.make_reward();
    } catch (const Error& e) {
        throw bad(std::string("\"reward\": ") + e.what());
    }
    return c;
}

std::string finetune_flags(const FamilyCase& c, const std::string& mixture_path) {
    return "--mixture " + mixture_path + " --reward " + c.reward + " --lambda " + number_text(c.lambda);
}

double base_to_target_tv(const FamilyCase& c) { return data::total_variation(c.mixture.weights, c.target().weights); }

}  // namespace am::finetune
