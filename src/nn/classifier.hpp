// Training and using an MLP classifier (the reward model of the MNIST demo:
// Linear(784, 256), SiLU, Linear(256, 10)).
// Design: docs/design.md#networks
#pragma once

#include <vector>

#include "nn/checkpoint.hpp"
#include "nn/mlp.hpp"
#include "nn/optim.hpp"

namespace am::nn {

// Mean cross-entropy -1/N sum_i log softmax(logits_i)[label_i]; logits (N, C).
Var<float> cross_entropy(const Var<float>& logits, const std::vector<int>& labels);

// Class probabilities softmax(net(x)), (N, C), computed in batches.
Mat<float> predict_proba(const MLP<float>& net, const Mat<float>& x);

// Share of rows whose most probable class is the label.
double accuracy(const MLP<float>& net, const Mat<float>& x, const std::vector<int>& labels);

struct ClassifierConfig {
    long steps = 3000;
    Index batch = 128;
    AdamConfig adam{1e-3};
    double progress_seconds = 2.0;  // a progress line at most this often (0: never)
};

// Minibatch Adam on the cross-entropy; x (N, D), labels in [0, C).
// Returns the mean training loss of the last 100 steps.
double train_classifier(MLP<float>& net, const Mat<float>& x, const std::vector<int>& labels,
                        const ClassifierConfig& cfg, Rng& rng);

// The classifier of a checkpoint (kind "mlp", as `amflow train-classifier`
// writes it), checked to take in_dim inputs and give `classes` outputs: a
// one-line am::Error naming the file otherwise (missing, corrupt, another
// kind of model, or another shape).
MLP<float> load_classifier(const std::string& path, Index in_dim, Index classes);

}  // namespace am::nn
