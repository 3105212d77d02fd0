// The bridge between the autograd engine and the device layer (plain C++,
// may use xtensor; the .cu files never see it): the parameters of an
// nn::VelocityMLP<float> to and from the flat device layout of
// src/device/mlp.hpp, and matrices to and from device arrays.
// Design: docs/design.md#the-thrust-engine
#pragma once

#include "core/tensor.hpp"
#include "device/array.hpp"
#include "device/mlp.hpp"
#include "nn/mlp.hpp"

namespace am::device {

// The layout of `net`; am::Error if the network is not the SiLU velocity MLP
// the device layer implements.
MLPLayout layout_of(const nn::VelocityMLP<float>& net);

// params (layout_of(net).size()) = W0, b0, W1, b1, ... of net, row-major.
void upload_parameters(const nn::VelocityMLP<float>& net, Array& params);
// The inverse: writes the values of params into net's leaves (same architecture).
// (net's parameters are shared leaves: a const network's values change too, as with nn::copy_parameters)
void download_parameters(const Array& params, const nn::VelocityMLP<float>& net);

// A matrix (rows, cols) as a device array of rows * cols floats, and back.
void upload(const Mat<float>& a, Array& out);
Mat<float> download(const Array& a, Index rows, Index cols);

}  // namespace am::device
