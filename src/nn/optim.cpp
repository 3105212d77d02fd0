// Design: docs/design.md#networks
#include "nn/optim.hpp"

#include <cmath>
#include <cstdio>

#include "core/parse.hpp"

namespace am::nn {

template <class T>
void zero_grad(const std::vector<Var<T>>& params) {
    for (auto p : params) p.zero_grad();
}

template <class T>
double grad_norm(const std::vector<Var<T>>& params) {
    double s = 0;
    for (const auto& p : params) {
        const T* g = p.grad().data();
        const Index n = Index(p.grad().size());
        double part = 0;
#pragma omp parallel for simd reduction(+ : part) if (n > (1 << 16))
        for (Index i = 0; i < n; ++i) part += double(g[i]) * double(g[i]);
        s += part;
    }
    return std::sqrt(s);
}

void check_finite_value(double value, const std::string& quantity, long iteration, const std::string& who) {
    if (std::isfinite(value)) return;
    throw Error(who + ": iteration " + std::to_string(iteration) + ": the " + quantity + " is " + format_number(value) +
                " (the run diverged)");
}

template <class T>
std::string first_non_finite(const std::vector<Var<T>>& params) {
    for (std::size_t k = 0; k < params.size(); ++k) {
        const Mat<T>& w = params[k].value();
        for (std::size_t i = 0; i < w.size(); ++i)
            if (!std::isfinite(w.data()[i]))
                return "parameter " + std::to_string(k) + " entry " + std::to_string(i) + " is " +
                       format_number(double(w.data()[i]));
    }
    return "";
}

void throw_non_finite_weights(const std::string& who, long iteration, const std::string& where) {
    throw Error(who + ": iteration " + std::to_string(iteration) + ": the update made the weights non-finite (" +
                where + "; the run diverged)");
}

namespace {
// After an update: throws naming the first weight the update made non-finite.
template <class T>
void check_weights(const std::vector<Var<T>>& params, long bad, long iteration, const std::string& who) {
    if (bad == 0) return;
    throw_non_finite_weights(who, iteration, first_non_finite(params));
}
}  // namespace

template <class T>
Adam<T>::Adam(std::vector<Var<T>> params, AdamConfig cfg) : params_(std::move(params)), cfg_(cfg) {
    AM_CHECK(cfg.lr > 0 && cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1 &&
                 cfg.eps > 0 && cfg.weight_decay >= 0 && cfg.clip_norm >= 0,
             "Adam: need lr > 0, 0 <= beta1, beta2 < 1, eps > 0, weight_decay >= 0, clip_norm >= 0");
    for (const auto& p : params_) {
        m_.push_back(xt::zeros_like(p.value()));
        v_.push_back(xt::zeros_like(p.value()));
    }
}

template <class T>
double Adam<T>::step(const std::string& who) {
    const double norm = grad_norm(params_);
    check_finite_value(norm, "gradient norm", t_ + 1, who);
    const double scale = (cfg_.clip_norm > 0 && norm > cfg_.clip_norm) ? cfg_.clip_norm / norm : 1.0;
    ++t_;
    const T b1 = T(cfg_.beta1), b2 = T(cfg_.beta2);
    const T c1 = T(1 - std::pow(cfg_.beta1, double(t_)));  // bias corrections
    const T c2 = T(1 - std::pow(cfg_.beta2, double(t_)));
    const T lr = T(cfg_.lr), eps = T(cfg_.eps), decay = T(cfg_.lr * cfg_.weight_decay), sc = T(scale);
    long bad = 0;  // weights the update made non-finite
    for (std::size_t k = 0; k < params_.size(); ++k) {
        Var<T> p = params_[k];
        if (!p.has_grad()) continue;
        T* w = p.value().data();
        const T* g = p.grad().data();
        T* m = m_[k].data();
        T* v = v_[k].data();
        const Index n = Index(p.value().size());
#pragma omp parallel for simd reduction(+ : bad) if (n > (1 << 16))
        for (Index i = 0; i < n; ++i) {
            const T gi = sc * g[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps) + decay * w[i];
            bad += !std::isfinite(w[i]);
        }
    }
    check_weights(params_, bad, t_, who);
    return norm;
}

template <class T>
SGD<T>::SGD(std::vector<Var<T>> params, double lr, double momentum)
    : params_(std::move(params)), lr_(lr), momentum_(momentum) {
    AM_CHECK(lr > 0 && momentum >= 0 && momentum < 1, "SGD: need lr > 0 and 0 <= momentum < 1");
    for (const auto& p : params_) buf_.push_back(xt::zeros_like(p.value()));
}

template <class T>
double SGD<T>::step(const std::string& who) {
    const double norm = grad_norm(params_);
    check_finite_value(norm, "gradient norm", t_ + 1, who);
    ++t_;
    long bad = 0;
    for (std::size_t k = 0; k < params_.size(); ++k) {
        Var<T> p = params_[k];
        if (!p.has_grad()) continue;
        T* w = p.value().data();
        const T* g = p.grad().data();
        T* b = buf_[k].data();
        for (std::size_t i = 0; i < p.value().size(); ++i) {
            b[i] = T(momentum_) * b[i] + g[i];
            w[i] -= T(lr_) * b[i];
            bad += !std::isfinite(w[i]);
        }
    }
    check_weights(params_, bad, t_, who);
    return norm;
}

template void zero_grad(const std::vector<Var<float>>&);
template void zero_grad(const std::vector<Var<double>>&);
template double grad_norm(const std::vector<Var<float>>&);
template double grad_norm(const std::vector<Var<double>>&);
template std::string first_non_finite(const std::vector<Var<float>>&);
template std::string first_non_finite(const std::vector<Var<double>>&);
template class Adam<float>;
template class Adam<double>;
template class SGD<float>;
template class SGD<double>;

}  // namespace am::nn
