// Design: docs/design.md#control-and-the-tilted-target
#include "finetune/reward.hpp"

#include <cmath>
#include <sstream>

#include "core/parse.hpp"

namespace am::finetune {

Mat<float> Reward::value(const Mat<float>& x) const {
    ag::NoGrad no_tape;
    return forward(ag::Var<float>(x)).value();
}

Mat<float> Reward::grad(const Mat<float>& x, Mat<float>* r_out) const {
    const Mat<float> ones = full<float>(rows(x), 1, 1.0f);
    return ag::vjp<float>([this](const ag::Var<float>& xv) { return forward(xv); }, x, ones, r_out);
}

LinearReward::LinearReward(std::vector<float> c) : c_(std::move(c)) {
    AM_CHECK(!c_.empty(), "linear reward: needs at least one coefficient");
    c_col_ = zeros<float>(Index(c_.size()), 1);
    for (std::size_t i = 0; i < c_.size(); ++i) c_col_(i, 0) = c_[i];
}

ag::Var<float> LinearReward::forward(const ag::Var<float>& x) const {
    return ag::matmul(x, ag::Var<float>(c_col_));  // (N, d) (d, 1)
}

std::string LinearReward::describe() const {
    std::ostringstream s;
    s << "linear:";
    for (std::size_t i = 0; i < c_.size(); ++i) s << (i ? "," : "") << c_[i];
    return s.str();
}

QuadraticReward::QuadraticReward(std::vector<float> a, float tau) : a_(std::move(a)), tau_(tau) {
    AM_CHECK(!a_.empty(), "quadratic reward: needs a centre");
    AM_CHECK(tau > 0 && std::isfinite(tau), "quadratic reward: tau must be positive");
    a_row_ = zeros<float>(1, Index(a_.size()));
    for (std::size_t i = 0; i < a_.size(); ++i) a_row_(0, i) = a_[i];
}

ag::Var<float> QuadraticReward::forward(const ag::Var<float>& x) const {
    using namespace ag;
    return sum(square(x - Var<float>(a_row_)), 1) * (-0.5f / (tau_ * tau_));
}

std::string QuadraticReward::describe() const {
    std::ostringstream s;
    s << "quadratic:";
    for (float v : a_) s << v << ",";
    s << tau_;
    return s.str();
}

ClassifierReward::ClassifierReward(const nn::MLP<float>& classifier, int target_class)
    : classifier_(classifier), target_(target_class) {
    AM_CHECK(target_class >= 0 && target_class < classifier.sizes().back(),
             "classifier reward: class " + std::to_string(target_class) + " is not one of the " +
                 std::to_string(classifier.sizes().back()) + " classes");
    nn::set_trainable(classifier.parameters(), false);
}

ag::Var<float> ClassifierReward::forward(const ag::Var<float>& x) const {
    return ag::slice_cols(ag::log_softmax(classifier_.forward(x)), target_, target_ + 1);
}

std::string ClassifierReward::describe() const { return "classifier:" + std::to_string(target_); }

namespace {
std::vector<float> parse_numbers(const std::string& list, const std::string& spec) {
    std::vector<float> out;
    for (const auto& item : split(list, ',')) {
        const auto v = parse_double(item);
        AM_CHECK(v && std::isfinite(float(*v)), "reward '" + spec + "': '" + item + "' is not a number");
        out.push_back(float(*v));
    }
    return out;
}
}  // namespace

std::unique_ptr<Reward> parse_reward(const std::string& spec, Index d) {
    const auto colon = spec.find(':');
    AM_CHECK(colon != std::string::npos,
             "reward '" + spec + "': expected linear:c0,c1,... or quadratic:a0,a1,...,tau");
    const std::string kind = spec.substr(0, colon);
    const auto nums = parse_numbers(spec.substr(colon + 1), spec);
    if (kind == "linear") {
        AM_CHECK(Index(nums.size()) == d, "reward '" + spec + "': needs " + std::to_string(d) +
                                              " coefficients for " + std::to_string(d) + "-D data");
        return std::make_unique<LinearReward>(nums);
    }
    if (kind == "quadratic") {
        AM_CHECK(Index(nums.size()) == d + 1, "reward '" + spec + "': needs " + std::to_string(d) +
                                                  " centre coordinates and tau");
        return std::make_unique<QuadraticReward>(std::vector<float>(nums.begin(), nums.end() - 1),
                                                 nums.back());
    }
    throw Error("reward '" + spec + "': unknown kind '" + kind + "' (expected linear or quadratic)");
}

}  // namespace am::finetune
