// The named presets: every default setting of pretraining and of fine-tuning,
// in one place. `amflow pretrain`, `finetune`, `study` and `mnist-demo`, their
// --help, the notebooks and the tests read them from here; a flag given on
// the command line replaces one field, nothing else does.
//
//   preset                      model                          settings
//   pretrain_2d_preset()        VelocityMLP(2, 256, 3)         5000 steps of 1024, Adam 1e-3 along a
//                                                              cosine to 5e-5, no EMA
//   pretrain_image_preset()     VelocityMLP(784, 1024, 3)      16000 steps of 128, Adam 1e-3 along a
//                                                              cosine to 1e-4, EMA 0.999
//   network_base_recipe()       a trainable copy of the base   K = 40, 1200 iterations of 512,
//                               network (2-D)                  Adam 3e-4 along a cosine to
//                                                              1.5e-5, lambda 0.5
//   exact_base_recipe()         mixture velocity + residual    K = 40, 2000 iterations of 512,
//                               MLP(128, 3) started at zero    Adam 3e-4 constant, lambda 0.5
//   image_recipe(method)        a trainable copy (MNIST)       K = 40, 400 iterations of 64,
//                                                              Adam 2e-4 (bptt: 5e-5), lambda 1
//
// FineTuneConfig's own defaults are network_base_recipe()'s method settings
// (lambda, batch, Adam); its schedule is constant unless `iters` and
// `lr_final_fraction` are set, as the presets do. The pretraining
// presets live here beside the fine-tuning ones because the family study
// (finetune/study.hpp) pretrains its network bases with the 2-D one.
// Why these values: the design notes (network and exact bases) and
// notes/mnist.md (images).
// Design: docs/design.md#the-parametrisation-of-the-fine-tuned-model
#pragma once

#include "finetune/trainer.hpp"
#include "flow/flow_matching.hpp"

namespace am::finetune {

// Pretraining by flow matching: the optimiser settings and the network's size.
struct PretrainPreset {
    flow::FlowMatchingConfig flow;
    Index width = 0, depth = 0;
};
PretrainPreset pretrain_2d_preset();
PretrainPreset pretrain_image_preset();

// Fine-tuning: the method's settings, its length, K, and (exact bases) the
// residual network's size.
struct Recipe {
    FineTuneConfig cfg;
    long iters = 0;
    Index width = 0, depth = 0;  // the residual MLP of an exact base (0: none)
    int K = 0;
};
Recipe network_base_recipe();
Recipe exact_base_recipe();
Recipe image_recipe(Method method);

}  // namespace am::finetune
