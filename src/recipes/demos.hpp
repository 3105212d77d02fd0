// The two end-to-end stories, from nothing to a table and pictures; `amflow
// demo` and `amflow mnist-demo` parse their options into these settings and
// call them. Each prints its progress and its table on stdout and writes its
// files under out_dir.
//
//   run_ring_demo   1. pretrain VelocityMLP(2, 256, 3) on the 8-Gaussian ring
//                      (the 2-D pretraining preset, pretrain_steps steps);
//                   2. fine-tune it toward r(x) = x_0 three ways: adjoint
//                      matching under the memoryless noise schedule, the same
//                      under a constant sigma = 0.5, and BPTT;
//                   3. sample each with the ODE and the memoryless SDE, and
//                      compare with the exact tilt in a table;
//                   4. OUT/demo.png: base, exact target, each method.
//   run_mnist_demo  1. the reward classifier (784 -> 256 -> SiLU -> 10), its
//                      held-out accuracy;
//                   2. the image flow model (the image pretraining preset): a
//                      grid of samples, the share classified with confidence
//                      >= 0.9, the histogram of predicted labels;
//                   3. fine-tuning toward digit c, r(x) = log p(c | x):
//                      adjoint matching for each lambda, and BPTT at the first;
//                   4. each model sampled with the ODE and the memoryless SDE:
//                      share classified as c, mean log p(c | x), diversity of
//                      the generated c's against the real ones; time per
//                      iteration and peak memory; PNG grids before and after;
//                      the table on stdout and in OUT/table.md.
// Design: docs/design.md#recipes
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "finetune/presets.hpp"

namespace am::recipes {

struct RingDemoSettings {
    std::string out_dir = "out";
    long pretrain_steps = 3000;  // a short pretraining (the preset's: 5000)
    long iters = 250;            // short fine-tuning runs (the network-base preset: 1200 of 512)
    Index batch = 256, n_eval = 8000;
    int K = 40;
    double lambda = 0.5, lr = 1e-3;
    std::string path = "condot";  // condot | vp
    std::uint64_t seed = 0;
};
void run_ring_demo(const RingDemoSettings& s);

// The fine-tuning settings default to finetune::image_recipe(), the
// pretraining ones to finetune::pretrain_image_preset().
struct MnistDemoSettings {
    MnistDemoSettings();
    std::string out_dir = "out-mnist", data = "mnist", scheme = "exact", loss_steps = "all";
    std::vector<double> lambdas = {1, 4};  // adjoint matching: one run each; BPTT at the first
    int digit = 0, K, ode_steps = 20;
    long classifier_steps = 3000, pretrain_steps, iters, bptt_iters = 0;  // bptt_iters 0: as iters
    Index pretrain_batch, batch, n_eval = 1000;
    double pretrain_lr, lr, bptt_lr, clip = 0;
    bool reuse = false;    // reuse OUT/classifier.ckpt and OUT/base.ckpt when they exist
    bool no_bptt = false;
    std::uint64_t seed = 0;
};
void run_mnist_demo(const MnistDemoSettings& s);

}  // namespace am::recipes
