// Design: docs/design.md#control-and-the-tilted-target
#include "finetune/reward.hpp"

#include <cmath>
#include <sstream>

#include "core/parse.hpp"
#include "data/images.hpp"
#include "nn/classifier.hpp"

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
    AM_CHECK(nn::is_frozen(classifier.parameters()),
             "classifier reward: the classifier is trainable; freeze it where it is built (nn::freeze)");
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

std::unique_ptr<Reward> linear_or_quadratic(const std::string& spec, Index d) {
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

}  // namespace

bool is_classifier_spec(const std::string& spec) { return spec.rfind("classifier:", 0) == 0; }

ClassifierSpec parse_classifier_spec(const std::string& spec) {
    AM_CHECK(is_classifier_spec(spec), "reward '" + spec + "': expected classifier:CKPT,DIGIT");
    const std::string rest = spec.substr(11);
    const auto comma = rest.rfind(',');
    AM_CHECK(comma != std::string::npos && comma > 0,
             "reward '" + spec + "': expected classifier:CKPT,DIGIT (a checkpoint and a class 0..9)");
    ClassifierSpec s;
    s.path = rest.substr(0, comma);
    const std::string digit = rest.substr(comma + 1);
    AM_CHECK(digit.size() == 1 && digit[0] >= '0' && digit[0] <= '9',
             "reward '" + spec + "': the class '" + digit + "' is not a digit 0..9");
    s.target = digit[0] - '0';
    return s;
}

LoadedClassifierReward::LoadedClassifierReward(const ClassifierSpec& spec, Index d)
    : spec_(spec), net_(nn::load_classifier(spec.path, d, data::kImageClasses)) {
    nn::freeze(net_);
    reward_ = std::make_unique<ClassifierReward>(net_, spec.target);
}

std::string LoadedClassifierReward::describe() const {
    return "classifier:" + spec_.path + "," + std::to_string(spec_.target) + " (log p(" +
           std::to_string(spec_.target) + " | x))";
}

std::unique_ptr<Reward> make_reward(const std::string& spec, Index d) {
    if (is_classifier_spec(spec)) return std::make_unique<LoadedClassifierReward>(parse_classifier_spec(spec), d);
    try {
        return linear_or_quadratic(spec, d);
    } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.find("unknown kind") != std::string::npos || msg.find("expected linear") != std::string::npos)
            throw Error(msg + "; or classifier:CKPT,DIGIT");
        throw;
    }
}

}  // namespace am::finetune
