// cli: the amflow program run in-process (run_amflow): every bad input is
// one line "amflow: error: ..." that names the problem, and a non-zero exit;
// a good command line writes what it promised.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "test_support.hpp"

using namespace am::testing;

namespace {

// A path in one scratch folder for this file's tests, removed at exit.
std::string temp_path(const std::string& name) {
    static const TempDir dir("amflow_test_cli");
    return dir / name;
}

}  // namespace

TEST_CASE("cli: wrong flags and values are one-line errors with a non-zero exit") {
    check_one_line_error({"sample", "--bogus"}, "--bogus");
    check_one_line_error({"frobnicate"}, "frobnicate");
    check_one_line_error({"sample", "--mixture", "ring", "--steps", "0", "--out", temp_path("a.csv")}, "--steps");
    check_one_line_error({"sample", "--mixture", "ring", "--n", "-3", "--out", temp_path("a.csv")}, "--n");
    check_one_line_error({"sample", "--mixture", "ring", "--steps", "ten"}, "--steps");
    check_one_line_error({"sample", "--mixture", "ring", "--schedule", "constant:abc", "--out", temp_path("a.csv")},
                         "constant:abc");
    check_one_line_error({"sample", "--mixture", "ring", "--scheme", "rk4", "--out", temp_path("a.csv")}, "rk4");
    check_one_line_error({"pretrain", "--steps", "0", "--out", temp_path("m.ckpt")}, "--steps");
    check_one_line_error({"pretrain", "--data", "spiralz", "--steps", "1", "--out", temp_path("m.ckpt")}, "spiralz");
    check_one_line_error({"finetune", "--mixture", "ring", "--method", "magic", "--out", temp_path("f.ckpt")}, "magic");
    check_one_line_error({"finetune", "--mixture", "ring", "--reward", "linear:1,2,3", "--iters", "1",
                          "--out", temp_path("f.ckpt")},
                         "linear");
}

TEST_CASE("cli: missing and malformed files are named in the error") {
    const std::string missing = temp_path("does-not-exist.json");
    std::filesystem::remove(missing);
    check_one_line_error({"sample", "--mixture", missing, "--out", temp_path("a.csv")}, "does-not-exist.json");
    check_one_line_error({"sample", "--model", temp_path("no-model.ckpt"), "--out", temp_path("a.csv")},
                         "no-model.ckpt");
    const std::string bad_json = temp_path("bad.json");
    std::ofstream(bad_json) << "{\"weights\": [1, 2], \"means\": [[0, 0]]";
    check_one_line_error({"sample", "--mixture", bad_json, "--out", temp_path("a.csv")}, "bad.json");
    const std::string bad_csv = temp_path("bad.csv");
    std::ofstream(bad_csv) << "x0,x1\n1.0,2.0\n3.0,oops\n";
    check_one_line_error({"eval", "--samples", bad_csv}, "bad.csv");
    const std::string not_ckpt = temp_path("not-a-checkpoint.ckpt");
    std::ofstream(not_ckpt) << "hello";
    check_one_line_error({"sample", "--model", not_ckpt, "--out", temp_path("a.csv")}, "not-a-checkpoint.ckpt");
}

TEST_CASE("cli: sample writes the CSV it promised; --help exits 0") {
    const std::string out = temp_path("samples.csv");
    std::filesystem::remove(out);
    const CliResult r = amflow({"sample", "--mixture", "ring", "--n", "50", "--steps", "10", "--seed", "3", "--out", out});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    std::ifstream in(out);
    std::string line;
    std::getline(in, line);
    CHECK(line == "x0,x1");
    int n = 0;
    while (std::getline(in, line))
        if (!line.empty()) ++n;
    CHECK(n == 50);
    const CliResult h = amflow({"finetune", "--help"});
    CHECK(h.status == 0);
    CHECK(h.out.find("--method") != std::string::npos);
}
