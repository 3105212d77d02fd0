// Design: docs/design.md#networks
#include "nn/classifier.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

namespace am::nn {

Var<float> cross_entropy(const Var<float>& logits, const std::vector<int>& labels) {
    const Index N = logits.rows(), C = logits.cols();
    AM_CHECK(Index(labels.size()) == N, "cross_entropy: " + std::to_string(labels.size()) + " labels for " +
                                            std::to_string(N) + " rows");
    Mat<float> onehot = zeros<float>(N, C);
    for (Index i = 0; i < N; ++i) {
        AM_CHECK(labels[i] >= 0 && labels[i] < C, "cross_entropy: label " + std::to_string(labels[i]) +
                                                      " is not one of the " + std::to_string(C) + " classes");
        onehot(i, labels[i]) = 1.0f;
    }
    // -1/N sum_i sum_c onehot_ic log p_ic
    return ag::sum(ag::log_softmax(logits) * Var<float>(onehot)) * (-1.0f / float(N));
}

Mat<float> predict_proba(const MLP<float>& net, const Mat<float>& x) {
    ag::NoGrad no_tape;
    const Index N = rows(x), D = cols(x), C = net.sizes().back(), chunk = 1024;
    Mat<float> p = zeros<float>(N, C);
    for (Index s = 0; s < N; s += chunk) {
        const Index n = std::min(chunk, N - s);
        Mat<float> xb = Mat<float>::from_shape({std::size_t(n), std::size_t(D)});
        std::copy_n(x.data() + s * D, n * D, xb.data());
        const Mat<float> lp = ag::log_softmax(net.forward(Var<float>(xb))).value();
        for (Index i = 0; i < n; ++i)
            for (Index c = 0; c < C; ++c) p(s + i, c) = std::exp(lp(i, c));
    }
    return p;
}

double accuracy(const MLP<float>& net, const Mat<float>& x, const std::vector<int>& labels) {
    AM_CHECK(Index(labels.size()) == rows(x), "accuracy: labels and rows differ in number");
    if (labels.empty()) return 0;
    const Mat<float> p = predict_proba(net, x);
    Index right = 0;
    for (Index i = 0; i < rows(p); ++i) {
        Index best = 0;
        for (Index c = 1; c < cols(p); ++c)
            if (p(i, c) > p(i, best)) best = c;
        right += best == labels[i];
    }
    return double(right) / double(labels.size());
}

double train_classifier(MLP<float>& net, const Mat<float>& x, const std::vector<int>& labels,
                        const ClassifierConfig& cfg, Rng& rng) {
    const Index N = rows(x), D = cols(x);
    AM_CHECK(N > 0 && Index(labels.size()) == N, "train_classifier: need as many labels as rows, and data");
    AM_CHECK(cfg.steps > 0 && cfg.batch > 0, "train_classifier: steps and batch must be positive");
    Adam<float> adam(net.parameters(), cfg.adam);
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto last = start;
    double recent = 0;
    long recent_n = 0;
    for (long s = 1; s <= cfg.steps; ++s) {
        Mat<float> xb = Mat<float>::from_shape({std::size_t(cfg.batch), std::size_t(D)});
        std::vector<int> yb(std::size_t(cfg.batch));
        for (Index i = 0; i < cfg.batch; ++i) {
            const Index k = Index(rng.below(std::uint64_t(N)));
            std::copy_n(x.data() + k * D, D, xb.data() + i * D);
            yb[i] = labels[k];
        }
        Var<float> loss = cross_entropy(net.forward(Var<float>(xb)), yb);
        check_finite_value(loss.item(), "loss", s, "train_classifier");
        adam.zero_grad();
        ag::backward(loss);
        adam.step("train_classifier");
        if (s > cfg.steps - 100) recent += loss.item(), ++recent_n;
        const auto now = clock::now();
        if (cfg.progress_seconds > 0 &&
            (std::chrono::duration<double>(now - last).count() >= cfg.progress_seconds || s == cfg.steps)) {
            const double rate = double(s) / std::chrono::duration<double>(now - start).count();
            std::fprintf(stderr, "\rclassifier: step %ld/%ld  loss %.4f  %.0f steps/s  %.0f s left   %s", s,
                         cfg.steps, loss.item(), rate, double(cfg.steps - s) / rate, s == cfg.steps ? "\n" : "");
            std::fflush(stderr);
            last = now;
        }
    }
    return recent / double(std::max<long>(1, recent_n));
}

MLP<float> load_classifier(const std::string& path, Index in_dim, Index classes) {
    const Checkpoint ck = load_checkpoint(path);
    AM_CHECK(ck.kind == "mlp", "classifier checkpoint " + path + " holds a '" + ck.kind +
                                   "', expected a classifier (an 'mlp' written by amflow train-classifier)");
    MLP<float> net;
    try {
        net = mlp_from_checkpoint<float>(ck);
    } catch (const Error& e) {
        throw Error("classifier checkpoint " + path + ": " + e.what());
    }
    const auto& sz = net.sizes();
    AM_CHECK(sz.front() == in_dim && sz.back() == classes,
             "classifier checkpoint " + path + " maps " + std::to_string(sz.front()) + " inputs to " +
                 std::to_string(sz.back()) + " classes; expected " + std::to_string(in_dim) + " inputs (the data) and " +
                 std::to_string(classes) + " classes");
    return net;
}

}  // namespace am::nn
