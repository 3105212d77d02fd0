// Design: docs/design.md#data
#include "data/images.hpp"

#include <algorithm>
#include <filesystem>

#include "core/random.hpp"

namespace am::data {

Mat<float> pixels_to_model(const Mat<float>& p) { return 2.0f * p - 1.0f; }

Mat<float> model_to_pixels(const Mat<float>& x) { return xt::clip(0.5f * (x + 1.0f), 0.0f, 1.0f); }

Mat<float> clamp_model(const Mat<float>& x) { return xt::clip(x, -1.0f, 1.0f); }

bool is_image_data_spec(const std::string& spec) { return spec == "mnist" || spec.rfind("idx:", 0) == 0; }

std::string image_data_dir(const std::string& spec) {
    if (spec == "mnist") return "data/mnist";
    AM_CHECK(spec.rfind("idx:", 0) == 0 && spec.size() > 4,
             "image data '" + spec + "': expected mnist or idx:DIR (a folder of IDX files)");
    return spec.substr(4);
}

namespace {
void check_labels(const ImageSet& set, const std::string& what) {
    for (std::size_t i = 0; i < set.labels.size(); ++i)
        AM_CHECK(set.labels[i] >= 0 && set.labels[i] < kImageClasses,
                 what + ": label " + std::to_string(set.labels[i]) + " at position " + std::to_string(i) +
                     " is outside 0..9");
}
}  // namespace

ImageData load_image_data(const std::string& spec) {
    ImageData d;
    d.spec = spec;
    d.dir = image_data_dir(spec);
    if (!std::filesystem::is_directory(d.dir)) {
        if (spec == "mnist")
            throw Error("no MNIST folder " + d.dir + " here: run `make data` (from the repository root) first");
        throw Error("image data folder " + d.dir + " does not exist");
    }
    d.train = load_idx_dir(d.dir, "train");
    d.test = load_idx_dir(d.dir, "t10k");
    AM_CHECK(d.train.rows == d.test.rows && d.train.cols == d.test.cols,
             d.dir + ": train images are " + std::to_string(d.train.rows) + " x " + std::to_string(d.train.cols) +
                 " but test images are " + std::to_string(d.test.rows) + " x " + std::to_string(d.test.cols));
    AM_CHECK(!d.train.labels.empty(), d.dir + ": the training split holds no images");
    check_labels(d.train, d.dir + " (train)");
    check_labels(d.test, d.dir + " (t10k)");
    d.train.images = pixels_to_model(d.train.images);
    d.test.images = pixels_to_model(d.test.images);
    return d;
}

Mat<float> rows_with_label(const ImageSet& set, int label) {
    const Index n = Index(std::count(set.labels.begin(), set.labels.end(), label)), D = cols(set.images);
    Mat<float> out = zeros<float>(n, D);
    Index r = 0;
    for (std::size_t i = 0; i < set.labels.size(); ++i)
        if (set.labels[i] == label) std::copy_n(set.images.data() + Index(i) * D, D, out.data() + (r++) * D);
    return out;
}

Mat<float> sample_rows(const Mat<float>& x, Index n, Rng& rng) {
    const Index N = rows(x), D = cols(x);
    AM_CHECK(N > 0, "sample_rows: no rows to draw from");
    Mat<float> out = Mat<float>::from_shape({std::size_t(n), std::size_t(D)});
    for (Index i = 0; i < n; ++i) {
        const Index k = Index(rng.below(std::uint64_t(N)));
        std::copy_n(x.data() + k * D, D, out.data() + i * D);
    }
    return out;
}

}  // namespace am::data
