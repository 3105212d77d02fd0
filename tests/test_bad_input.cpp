// bad input and diverging runs (issue 17): every row of the catalogue is a
// run of the amflow program (in-process) or of a reader or writer directly,
// and checks the exit status or the error, that the message names the right
// thing, and that no file was written or that an existing file is
// byte-identical afterwards.
// Design: docs/design.md#tests-notebooks-benchmarks
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <zlib.h>

#include "cli/app.hpp"
#include "cli/common.hpp"
#include "data/csv.hpp"
#include "data/file_io.hpp"
#include "data/idx.hpp"
#include "data/mixture_json.hpp"
#include "device/array.hpp"
#include "device/trainer.hpp"
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
    // data far beyond float range squared: the loss overflows at the first step
    write_text(dir / "far.json", R"({"weights": [1, 1], "means": [[1e25, 0], [-1e25, 0]], "stds": [1, 1]})");
    const std::vector<std::string> args = {"pretrain", "--data", "mixture:" + dir / "far.json", "--steps", "5", "--batch",
                                           "16", "--width", "8", "--depth", "1", "--out", out};
    check_fails_leaving(args, {"flow matching: iteration 1: the loss is inf"}, out);
    write_text(out, "a previous checkpoint");
    check_fails_leaving(args, {"iteration 1", "loss is inf"}, out);
    // the Thrust engine stops the same way, with the same words
    if (!device::device_available()) return;  // a CUDA build without a GPU
    std::vector<std::string> thrust_args = args;
    thrust_args.insert(thrust_args.end(), {"--backend", "thrust"});
    check_fails_leaving(thrust_args, {"flow matching: iteration 1: the loss is inf"}, out);
}

TEST_CASE("bad input: a diverging fine-tuning stops at the first non-finite value and keeps the checkpoint") {
    TempDir dir("amflow_bad_div_ft");
    const std::string base = tiny_model(dir);
    const std::string out = dir / "ft.ckpt";
    REQUIRE(amflow({"finetune", "--model", base, "--iters", "1", "--batch", "8", "--steps", "4", "--eval-n", "10",
                    "--out", out})
                .status == 0);
    const std::string before = bytes_of(out);
    // a huge learning rate: the command line refuses it before any work
    check_fails_leaving({"finetune", "--model", base, "--iters", "3", "--lr", "1e39", "--out", out},
                        {"--lr", "(0, 1]", "1e39"}, out);
    // inside the library it runs, and the first update makes the weights non-finite
    {
        cli::LoadedField lf = cli::LoadedField::from_options(base, "");
        Rng rng(0);
        auto ft = cli::make_finetuned(lf, 0, 0, rng);
        finetune::LinearReward reward({1.0f, 0.0f});
        finetune::FineTuneConfig cfg;
        cfg.batch = 8;
        cfg.adam = nn::AdamConfig{1e39};
        finetune::FineTuner tuner(*ft, reward, cli::make_grid(flow::CondOT(), "memoryless", "exact", 4), cfg, 1);
        check_error([&] { tuner.iterate(); }, {"fine-tuning (am): iteration 1", "weights non-finite", "parameter"});
        check_error([&] { nn::save_checkpoint(out, cli::finetuned_checkpoint(*ft, lf)); }, {out, "not written", "'W"});
        CHECK(bytes_of(out) == before);
    }
    // through the command line, forced by a reward of 1e30: the loss overflows at iteration 1
    check_fails_leaving({"finetune", "--model", base, "--reward", "linear:1e30,0", "--lambda", "1000", "--iters", "3",
                         "--batch", "8", "--steps", "4", "--out", out},
                        {"fine-tuning (am): iteration 1", "inf"}, out);
    // --out equal to --model: the input stays as it was
    check_fails_leaving({"finetune", "--model", base, "--reward", "linear:1e30,0", "--lambda", "1000", "--iters", "3",
                         "--batch", "8", "--steps", "4", "--out", base},
                        {"iteration 1"}, base);

    // the Thrust engine (device::AMTrainer): the same checks, the same words
    if (!device::device_available()) return;  // a CUDA build without a GPU
    {
        cli::LoadedField lf = cli::LoadedField::from_options(base, "");
        finetune::LinearReward reward({1.0f, 0.0f});
        finetune::FineTuneConfig cfg;
        cfg.batch = 8;
        cfg.adam = nn::AdamConfig{1e39};
        device::AMTrainer tuner(*lf.network(), *lf.network(), reward, cli::make_grid(flow::CondOT(), "memoryless", "exact", 4), cfg, 1);
        check_error([&] { tuner.iterate(); }, {"fine-tuning (am): iteration 1", "weights non-finite", "parameter 0 entry 0 is"});
    }
    check_fails_leaving({"finetune", "--model", base, "--backend", "thrust", "--reward", "linear:1e30,0", "--lambda",
                         "1000", "--iters", "3", "--batch", "8", "--steps", "4", "--out", out},
                        {"fine-tuning (am): iteration 1", "inf"}, out);
    CHECK(bytes_of(out) == before);
}

// ---- 1. outputs of sample / eval / demo are never NaN -------------------------------

TEST_CASE("bad input: sample and eval refuse to write or print non-finite numbers") {
    TempDir dir("amflow_bad_nan_out");
    const std::string out = dir / "s.csv";
    write_text(dir / "huge.json", R"({"weights": [1], "means": [[1e300, 0]], "stds": [1]})");
    check_fails_leaving({"sample", "--mixture", dir / "huge.json", "--n", "5", "--steps", "3", "--out", out},
                        {"s.csv", "not written", "sample 0 coordinate 0"}, out);
    check_fails_leaving({"sample", "--mixture", "ring", "--n", "5", "--steps", "3", "--noise", "constant:1e300",
                         "--out", out},
                        {"--noise constant:1e300", "(0, 100]"}, out);
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
    check_fails_leaving({"pretrain", "--steps", "1", "--out", dir / "m.ckpt", "--output", "data", "--path", "vp"},
                        {"--output data", "CondOT", "--path vp"}, dir / "m.ckpt");
    check_fails_leaving({"pretrain", "--steps", "1", "--out", dir / "m.ckpt", "--output", "noise"},
                        {"'noise'", "velocity or data"}, dir / "m.ckpt");
    check_fails_leaving({"pretrain", "--steps", "1", "--out", dir / "m.ckpt", "--time-features", "30"},
                        {"--time-features"}, dir / "m.ckpt");
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

// ---- 2. readers: sizes checked before allocating, the file and place named ---------------

TEST_CASE("bad input: an IDX header claiming 4 GB in a 50-byte .gz is refused at once") {
    TempDir dir("amflow_bad_idx");
    // 2^28 images of 1 x 1 (under the 1 GiB cap), then 20 bytes
    std::vector<unsigned char> header = {0, 0, 8, 3, 0x10, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};
    std::string gz;
    {
        const std::string plain = dir / "claim.idx";
        write_text(plain, std::string(header.begin(), header.end()) + std::string(20, '\x07'));
        gz = bytes_of(plain);
    }
    // gzip it with zlib (gzopen writes the gzip header)
    gzFile f = gzopen((dir / "claim.idx.gz").c_str(), "wb9");
    gzwrite(f, gz.data(), unsigned(gz.size()));
    gzclose(f);
    CHECK(fs::file_size(dir / "claim.idx.gz") < 60);
    int r = 0, c = 0;
    const auto t0 = std::chrono::steady_clock::now();
    check_error([&] { data::read_idx_images(dir / "claim.idx.gz", &r, &c); },
                {"claim.idx.gz", "truncated", "268435456 bytes of pixels", "after 20"});
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 2.0);
    // 2^32 - 1 labels, and 65536 x 65536 pixels per image: more than the 1 GiB cap
    write_text(dir / "many.idx", std::string("\0\0\x08\x01\xff\xff\xff\xff\x01", 9));
    check_error([&] { data::read_idx_labels(dir / "many.idx"); }, {"many.idx", "4294967295", "more than the 1073741824"});
    write_text(dir / "big.idx", std::string("\0\0\x08\x03\0\0\0\x02\0\x01\0\0\0\x01\0\0", 16));
    check_error([&] { data::read_idx_images(dir / "big.idx", &r, &c); }, {"big.idx", "at most 1073741824"});
    // labels: the byte where the data ends
    write_text(dir / "labels.idx", std::string("\0\0\x08\x01\0\0\0\x09\x01\x02", 10));
    check_error([&] { data::read_idx_labels(dir / "labels.idx"); }, {"labels.idx", "truncated", "at byte 10"});
    // a folder given as a file
    check_error([&] { data::read_idx_labels(dir.path.string()); }, {dir.path.string(), "is a directory"});
}

TEST_CASE("bad input: folders given as files, and broken CSV and JSON, name the file and the place") {
    TempDir dir("amflow_bad_readers");
    const std::string d = dir.path.string();
    check_one_line_error({"eval", "--samples", d}, "is a directory");
    check_one_line_error({"sample", "--mixture", d, "--out", dir / "s.csv"}, "is a directory");
    check_one_line_error({"sample", "--model", d, "--out", dir / "s.csv"}, "is a directory");
    write_text(dir / "ragged.csv", "x0,x1\n1,2\n3\n");
    check_error([&] { data::read_samples_csv(dir / "ragged.csv"); }, {"ragged.csv:3:", "ragged row"});
    write_text(dir / "overflow.json", R"({"weights": [1], "means": [[1e400, 0]], "stds": [1]})");
    check_one_line_error({"sample", "--mixture", dir / "overflow.json", "--out", dir / "s.csv"}, "overflow.json");
    // 2000-D means: 32 MB of covariance per component is more than the cap
    std::string means = "[";
    for (int i = 0; i < 2000; ++i) means += (i ? ",0" : "0");
    write_text(dir / "wide.json", R"({"weights": [1], "means": [)" + means + R"(]], "stds": [1]})");
    check_error([&] { data::load_mixture_json(dir / "wide.json"); }, {"wide.json", "at most dimension 1024"});
    CHECK(!fs::exists(dir / "s.csv"));
}

TEST_CASE("bad input: checkpoints that lie about their shapes name the file before allocating") {
    TempDir dir("amflow_bad_ckpt_shapes");
    Rng rng(0);
    nn::VelocityMLP<float> net(2, 4, 1, rng);
    // metadata claiming a network of width 10^9: refused from the tensors, nothing allocated
    nn::Checkpoint ck = nn::to_checkpoint(net);
    ck.meta["width"] = "1000000000";
    nn::save_checkpoint(dir / "wide.ckpt", ck);
    check_one_line_error({"sample", "--model", dir / "wide.ckpt", "--out", dir / "s.csv"}, "wide.ckpt");
    check_error([&] { nn::velocity_mlp_from_checkpoint<float>(nn::load_checkpoint(dir / "wide.ckpt")); },
                {"wide.ckpt", "layer 0 should be 3 -> 1000000000"});
    ck = nn::to_checkpoint(net);
    ck.meta["depth"] = "99999999999";
    nn::save_checkpoint(dir / "deep.ckpt", ck);
    check_one_line_error({"sample", "--model", dir / "deep.ckpt", "--out", dir / "s.csv"}, "deep.ckpt");
    // the wrong kind (a classifier as --model) names the file
    nn::save_checkpoint(dir / "clf.ckpt", nn::to_checkpoint(nn::MLP<float>({2, 3, 2}, nn::Activation::SiLU, rng)));
    check_one_line_error({"sample", "--model", dir / "clf.ckpt", "--out", dir / "s.csv"}, "clf.ckpt");
    // a tensor claiming more floats than the file holds, and a truncated file
    std::string b = nn::checkpoint_bytes(nn::to_checkpoint(net), "x");
    const std::size_t at = b.find(std::string("\x02\0\0\0W0", 6)) + 6;
    const std::uint64_t huge = std::uint64_t(1) << 30;
    std::memcpy(&b[at], &huge, 8);
    write_text(dir / "claims.ckpt", b);
    check_error([&] { nn::load_checkpoint(dir / "claims.ckpt"); }, {"claims.ckpt", "'W0'", "more than the file holds"});
    write_text(dir / "short.ckpt", b.substr(0, 30));
    check_error([&] { nn::load_checkpoint(dir / "short.ckpt"); }, {"short.ckpt", "truncated"});
    CHECK(!fs::exists(dir / "s.csv"));
}

// ---- 3. numeric options against their documented ranges; combinations ------------------

TEST_CASE("bad input: numeric options out of range and meaningless combinations are refused") {
    TempDir dir("amflow_bad_options");
    const std::string csv = dir / "s.csv", ck = dir / "m.ckpt";
    data::write_samples_csv(csv, zeros<float>(4, 2));
    const std::string csv_bytes = bytes_of(csv);
    struct Row {
        std::vector<std::string> args;
        std::vector<std::string> expected;
    };
    const std::vector<Row> rows = {
        {{"sample", "--mixture", "ring", "--steps", "99999999999999999999"}, {"--steps", "[1, 100000]", "99999999999999999999"}},
        {{"pretrain", "--steps", "1e20"}, {"--steps", "integer", "1e20"}},
        {{"pretrain", "--steps", "-5"}, {"--steps", "-5"}},
        {{"finetune", "--mixture", "ring", "--lambda", "nan"}, {"--lambda", "nan", "[-1000, 1000]"}},
        {{"finetune", "--mixture", "ring", "--lambda", "1e6"}, {"--lambda", "1e6"}},
        {{"eval", "--samples", csv, "--lambda", "1e308"}, {"--lambda", "1e308"}},
        {{"finetune", "--mixture", "ring", "--seed", "-1"}, {"--seed", "-1"}},
        {{"sample", "--mixture", "ring", "--seed", "-1"}, {"--seed", "-1"}},
        {{"finetune", "--mixture", "ring", "--steps", "3", "--loss-steps", "last:99"}, {"--loss-steps", "last:99", "K = --steps = 3"}},
        {{"finetune", "--mixture", "ring", "--steps", "3", "--method", "draft", "--draft-k", "9"}, {"--draft-k", "9"}},
        {{"sample", "--mixture", "ring", "--noise", "memoryless", "--ode-method", "euler"}, {"--ode-method", "memoryless"}},
        {{"sample", "--mixture", "ring", "--noise", "constant:1e300"}, {"constant:1e300", "(0, 100]"}},
        {{"pretrain", "--width", "0"}, {"--width", "0"}},
        {{"pretrain", "--depth", "1000"}, {"--depth", "[1, 64]"}},
        {{"finetune", "--mixture", "ring", "--width", "-2"}, {"--width", "-2"}},
        {{"finetune", "--mixture", "ring", "--lr", "1e39"}, {"--lr", "(0, 1]"}},
        {{"train-classifier", "--lr", "1e10"}, {"--lr", "1e10"}},
        {{"finetune", "--mixture", "ring", "--batch", "0"}, {"--batch", "0"}},
        {{"sample", "--mixture", "ring", "--n", "2.5"}, {"--n", "2.5"}},
        {{"pretrain", "--ema", "1"}, {"--ema", "[0, 1)"}},
        {{"pretrain", "--lr-final", "0"}, {"--lr-final", "(0, 1]"}},
        {{"eval", "--samples", csv, "--confidence", "2"}, {"--confidence", "2"}},
        {{"demo", "--steps", "0"}, {"--steps", "0"}},
        {{"demo", "--lr", "inf"}, {"--lr", "inf"}},
        {{"finetune", "--mixture", "ring", "--clip-norm", "-1"}, {"--clip-norm", "-1"}},
        {{"finetune", "--mixture", "ring", "--weight-decay", "2"}, {"--weight-decay", "[0, 1]"}},
        {{"finetune", "--mixture", "ring", "--iters", "0"}, {"--iters", "0"}},
        {{"train-classifier", "--hidden", "0"}, {"--hidden", "0"}},
    };
    for (const Row& row : rows) {
        std::vector<std::string> args = row.args;
        const std::string target = args[0] == "sample" ? csv : ck;
        if (args[0] == "demo") args.insert(args.end(), {"--out-dir", dir / "demo"});
        else if (args[0] != "eval") args.insert(args.end(), {"--out", target});
        check_fails_leaving(args, row.expected, target);
    }
    CHECK(bytes_of(csv) == csv_bytes);
    CHECK(!fs::exists(dir / "demo"));
}

TEST_CASE("bad input: command-line syntax errors are sentences that name the subcommand and the option") {
    TempDir dir("amflow_bad_syntax");
    const std::string ck = dir / "m.ckpt";
    struct Row {
        std::vector<std::string> args;
        std::vector<std::string> expected;
    };
    const std::vector<Row> rows = {
        {{"pretrain", "--bogus", "--out", ck}, {"error: pretrain: unknown option --bogus", "amflow pretrain --help"}},
        {{"pretrain", "stray", "--out", ck}, {"error: pretrain: unexpected argument 'stray'", "--name value"}},
        {{"pretrain", "--out", ck, "--steps"}, {"error: pretrain: --steps needs a value (a whole number)"}},
        {{"finetune", "--mixture", "ring", "--out", ck, "--lambda"}, {"error: finetune: --lambda needs a value (a number)"}},
        {{"sample", "--mixture", "ring", "--out", ck, "--n", "abc"}, {"error: sample: --n: must be an integer", "'abc'"}},
        {{"pretrain", "--steps", "5", "--steps", "6", "--out", ck}, {"--steps is given 2 times; give it once"}},
        {{}, {"give a subcommand first, one of pretrain, sample, finetune"}},
    };
    for (const Row& row : rows) {
        check_fails_leaving(row.args, row.expected, ck);
        CHECK(amflow(row.args).err.find("The following") == std::string::npos);  // no raw CLI11 text
    }
    // std::bad_alloc carries no message of its own: the line names the subcommand and the likely cause
    const std::string line = cli::failure_message(std::bad_alloc(), "sample");
    CHECK(line.find("sample: out of memory") == 0);
    CHECK(line.find("--n") != std::string::npos);
    CHECK(cli::failure_message(std::runtime_error("checkpoint x: truncated"), "sample") ==
          "checkpoint x: truncated");
}
