// bad input and diverging runs (issue 17): every row of the catalogue is a
// run of the amflow program (in-process) or of a reader or writer directly,
// and checks the exit status or the error, that the message names the right
// thing, and that no file was written or that an existing file is
// byte-identical afterwards.
// Design: docs/design.md#tests-notebooks-benchmarks
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <zlib.h>

#include "data/csv.hpp"
#include "data/file_io.hpp"
#include "data/idx.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim.hpp"
#include "test_support.hpp"

using namespace am;
using namespace am::testing;

namespace {

namespace fs = std::filesystem;

// The bytes of a file ("" when it does not exist).
std::string bytes_of(const std::string& path) {
    if (!fs::exists(path)) return "";
    return data::read_file(path);
}

// No PATH.tmp left behind in the folder of `path`.
void check_no_temporaries(const std::string& dir) {
    if (!fs::is_directory(dir)) return;
    for (const auto& e : fs::directory_iterator(dir)) {
        CAPTURE(e.path().string());
        CHECK(e.path().extension() != ".tmp");
    }
}

// `amflow args` fails with one line naming every piece of `expected`, and
// leaves `file` as it was (absent, or byte-identical).
void check_fails_leaving(const std::vector<std::string>& args, const std::vector<std::string>& expected,
                         const std::string& file) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    CAPTURE(cmd);
    const std::string before = bytes_of(file);
    const bool existed = fs::exists(file);
    const CliResult r = amflow(args);
    CAPTURE(r.err);
    CHECK(r.status != 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    for (const auto& e : expected) CHECK(r.err.find(e) != std::string::npos);
    CHECK(fs::exists(file) == existed);
    CHECK(bytes_of(file) == before);
    check_no_temporaries(fs::path(file).parent_path().string());
}

// A small trained network (1 step) as a checkpoint, in seconds.
std::string tiny_model(const TempDir& dir, const std::string& name = "base.ckpt") {
    const std::string path = dir / name;
    const CliResult r = amflow({"pretrain", "--steps", "1", "--batch", "16", "--width", "8", "--depth", "1",
                                "--out", path});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    return path;
}

}  // namespace

// ---- 1. writes: atomic, synced, nothing stray, inputs safe --------------------------

TEST_CASE("bad input: a failed write leaves no temporary and the old file intact") {
    TempDir dir("amflow_bad_write");
    const std::string keep = dir / "keep.txt";
    data::write_file_atomic(keep, "old");
    // a folder, an empty name, a missing folder: named, and nothing written
    check_error([&] { data::write_file_atomic(dir.path.string() + "/", "x"); }, {"is a directory"});
    check_error([&] { data::write_file_atomic(dir / "sub", "x"), data::write_file_atomic(dir / "sub/", "y"); },
                {"sub/", "is a directory"});
    check_error([&] { data::write_file_atomic("", "x"); }, {"file name is empty"});
    check_error([&] { data::write_file_atomic(dir / "missing/x.csv", "x"); }, {"missing", "does not exist"});
    check_no_temporaries(dir.path.string());
    CHECK(bytes_of(keep) == "old");
}

TEST_CASE("bad input: staged outputs appear together, or not at all") {
    TempDir dir("amflow_bad_staged");
    const std::string a = dir / "a.ckpt";
    data::write_file_atomic(a, "the input");
    {
        data::StagedFiles files;
        files.add(a, "the new output");
        CHECK(fs::exists(a + ".tmp"));
        check_error([&] { files.add(dir / "no/such/dir.csv", "x"); }, {"no/such", "does not exist"});
        CHECK(bytes_of(a) == "the input");  // nothing committed
    }
    CHECK(bytes_of(a) == "the input");
    check_no_temporaries(dir.path.string());
    {
        data::StagedFiles files;
        files.add(a, "the new output");
        files.add(dir / "b.csv", "b");
        files.commit();
    }
    CHECK(bytes_of(a) == "the new output");
    CHECK(bytes_of(dir / "b.csv") == "b");
    check_no_temporaries(dir.path.string());
}

TEST_CASE("bad input: a checkpoint with non-finite weights is never written, nor loaded") {
    TempDir dir("amflow_bad_nan_ckpt");
    Rng rng(0);
    nn::VelocityMLP<float> net(2, 8, 1, rng);
    const std::string path = dir / "net.ckpt";
    nn::save_checkpoint(path, nn::to_checkpoint(net));
    const std::string good = bytes_of(path);

    nn::Checkpoint bad = nn::to_checkpoint(net);
    bad.tensors[2].second(1, 3) = std::nanf("");
    check_error([&] { nn::save_checkpoint(path, bad); }, {path, "not written", "'W1'", "nan"});
    CHECK(bytes_of(path) == good);
    check_no_temporaries(dir.path.string());

    // a file holding an inf (written by hand, with a correct checksum): refused on loading
    bad.tensors[2].second(1, 3) = 0.0f;
    std::string b = nn::checkpoint_bytes(bad, path);
    const std::string key = std::string("\x02\0\0\0W1", 6);  // u32 length 2, then the name
    const std::size_t at = b.find(key);
    REQUIRE(at != std::string::npos);
    const float inf = INFINITY;
    std::memcpy(&b[at + key.size() + 16], &inf, 4);  // after the name and the two u64 sizes
    const std::uint32_t crc = std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), uInt(b.size() - 4)));
    std::memcpy(&b[b.size() - 4], &crc, 4);
    write_text(dir / "inf.ckpt", b);
    check_error([&] { nn::load_checkpoint(dir / "inf.ckpt"); }, {"inf.ckpt", "'W1'", "inf"});
    check_fails_leaving({"sample", "--model", dir / "inf.ckpt", "--out", dir / "s.csv"}, {"inf.ckpt", "inf"},
                        dir / "s.csv");
}

TEST_CASE("bad input: samples CSV never holds NaN or inf") {
    TempDir dir("amflow_bad_nan_csv");
    Mat<float> x = zeros<float>(3, 2);
    x(2, 1) = -INFINITY;
    check_error([&] { data::write_samples_csv(dir / "s.csv", x); }, {"s.csv", "sample 2 coordinate 1", "-inf"});
    CHECK(!fs::exists(dir / "s.csv"));
    check_no_temporaries(dir.path.string());
}

// ---- 1. diverging runs: stopped at the first non-finite value, named ------------------

TEST_CASE("bad input: an optimiser step that makes the weights non-finite names the iteration") {
    ag::Var<float> p(Mat<float>{{1.0f, 2.0f}}, true);
    nn::Adam<float> adam({p}, nn::AdamConfig{1e39});  // lr overflows float: the update is inf
    p.grad() = Mat<float>{{1.0f, 1.0f}};
    check_error([&] { adam.step("test run"); }, {"test run: iteration 1", "weights non-finite", "parameter 0 entry 0"});
    nn::Adam<float> adam2({p}, nn::AdamConfig{1e-3});
    p.grad() = Mat<float>{{INFINITY, 1.0f}};
    check_error([&] { adam2.step("test run"); }, {"test run: iteration 1", "gradient norm is inf"});
    check_error([] { nn::check_finite_value(3e20 * 1e300 * 0, "loss", 7, "pretrain"); },
                {"pretrain: iteration 7: the loss is nan"});
}

TEST_CASE("bad input: a diverging pretraining stops, names the iteration and writes nothing") {
    TempDir dir("amflow_bad_div_pre");
    const std::string out = dir / "m.ckpt";
    check_fails_leaving({"pretrain", "--steps", "5", "--batch", "16", "--width", "8", "--depth", "1", "--lr", "1e39",
                         "--out", out},
                        {"iteration 1", "non-finite"}, out);
    write_text(out, "a previous checkpoint");
    check_fails_leaving({"pretrain", "--steps", "5", "--batch", "16", "--width", "8", "--depth", "1", "--lr", "1e39",
                         "--out", out},
                        {"iteration 1", "non-finite"}, out);
}

TEST_CASE("bad input: a diverging fine-tuning stops at the first non-finite value and keeps the checkpoint") {
    TempDir dir("amflow_bad_div_ft");
    const std::string base = tiny_model(dir);
    const std::string out = dir / "ft.ckpt";
    REQUIRE(amflow({"finetune", "--model", base, "--iters", "1", "--batch", "8", "--steps", "4", "--eval-n", "10",
                    "--out", out})
                .status == 0);
    // the same output again, with a learning rate that overflows: the earlier checkpoint stays
    check_fails_leaving({"finetune", "--model", base, "--iters", "3", "--batch", "8", "--steps", "4", "--lr", "1e39",
                         "--out", out},
                        {"fine-tuning (am): iteration 1", "non-finite"}, out);
    // --out equal to --model: the input is the previous checkpoint, untouched
    check_fails_leaving({"finetune", "--model", base, "--iters", "3", "--batch", "8", "--steps", "4", "--lr", "1e39",
                         "--out", base},
                        {"iteration 1"}, base);
}

// ---- 1. outputs of sample / eval / demo are never NaN -------------------------------

TEST_CASE("bad input: sample and eval refuse to write or print non-finite numbers") {
    TempDir dir("amflow_bad_nan_out");
    const std::string out = dir / "s.csv";
    write_text(dir / "huge.json", R"({"weights": [1], "means": [[1e300, 0]], "stds": [1]})");
    check_fails_leaving({"sample", "--mixture", dir / "huge.json", "--n", "5", "--steps", "3", "--out", out},
                        {"s.csv", "not written", "sample 0 coordinate 0"}, out);
    check_fails_leaving({"sample", "--mixture", "ring", "--n", "5", "--steps", "3", "--schedule", "constant:1e300",
                         "--out", out},
                        {"s.csv", "not written"}, out);
    data::write_samples_csv(out, zeros<float>(4, 2));
    const CliResult r = amflow({"eval", "--samples", out, "--lambda", "nan"});
    CHECK(r.status != 0);
    CHECK(r.out.find("nan") == std::string::npos);
    CHECK(r.err.find("nan") != std::string::npos);
}

// ---- 1. the input is never overwritten before the output is complete ---------------------

TEST_CASE("bad input: finetune --out equal to --model with --samples into a missing folder keeps the model") {
    TempDir dir("amflow_bad_inplace");
    const std::string base = tiny_model(dir);
    check_fails_leaving({"finetune", "--model", base, "--iters", "1", "--batch", "8", "--steps", "4", "--out", base,
                         "--samples", dir / "no-such-dir/s.csv"},
                        {"--samples", "no-such-dir", "does not exist"}, base);
    check_fails_leaving({"finetune", "--model", base, "--iters", "1", "--out", dir.path.string() + "/"},
                        {"--out", "is a directory"}, base);
    check_fails_leaving({"finetune", "--model", base, "--iters", "1", "--out", ""}, {"--out", "empty"}, base);
    check_fails_leaving({"sample", "--mixture", "ring", "--out", dir / "nowhere/s.csv"}, {"--out", "nowhere"},
                        dir / "nowhere/s.csv");
    check_fails_leaving({"pretrain", "--steps", "1", "--out", dir / "nowhere/m.ckpt"}, {"--out", "nowhere"},
                        dir / "nowhere/m.ckpt");
    check_fails_leaving({"pretrain", "--steps", "1", "--out", dir / "m.ckpt", "--loss-log", dir / "nowhere/l.csv"},
                        {"--loss-log", "nowhere"}, dir / "m.ckpt");
}

TEST_CASE("bad input: train-classifier without test images reports no accuracy") {
    TempDir dir("amflow_bad_notest");
    Mat<float> images = zeros<float>(20, 4);
    std::vector<int> labels(20, 3);
    data::write_idx_images(dir / "train-images-idx3-ubyte.gz", images, 2, 2, true);
    data::write_idx_labels(dir / "train-labels-idx1-ubyte.gz", labels, true);
    data::write_idx_images(dir / "t10k-images-idx3-ubyte.gz", zeros<float>(0, 4), 2, 2, true);
    data::write_idx_labels(dir / "t10k-labels-idx1-ubyte.gz", {}, true);
    check_fails_leaving({"train-classifier", "--data", "idx:" + dir.path.string(), "--steps", "2", "--out",
                         dir / "c.ckpt"},
                        {"test split", "no images"}, dir / "c.ckpt");
}
