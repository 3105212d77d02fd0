// Helpers shared by the test files: scratch folders and files, and the amflow
// program run in-process (cli::run_amflow) with its one-line error contract.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "cli/app.hpp"
#include "core/tensor.hpp"

namespace am::testing {

// A fresh folder under the temporary directory, removed with everything in it
// at scope exit. `dir / "name"` is the path of a file inside it.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& prefix = "amflow_test") {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// The message of the am::Error that f() throws ("" if it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// Writes `bytes` to `path` exactly (binary: no newline translation).
inline void write_text(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
    REQUIRE(f.good());
}

// What `amflow args...` printed and returned, run in this process.
struct CliResult {
    int status;
    std::string out, err;
};

inline CliResult amflow(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    const int status = cli::run_amflow(args, out, err);
    return {status, out.str(), err.str()};
}

// A failed run: non-zero status, exactly one line on stderr, containing `needle`.
inline void check_one_line_error(const std::vector<std::string>& args, const std::string& needle) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    CAPTURE(cmd);
    const CliResult r = amflow(args);
    CAPTURE(r.err);
    CHECK(r.status != 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(needle) != std::string::npos);
}

}  // namespace am::testing
