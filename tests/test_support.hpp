// Helpers shared by the test files: scratch folders and files, and the amflow
// program run in-process (cli::run_amflow) with its one-line error contract.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
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

// f() throws an am::Error whose message is one line containing every piece of `expected`.
template <class F>
void check_error(F&& f, const std::vector<std::string>& expected) {
    const std::string msg = error_of(f);
    INFO("message: " << msg);
    CHECK(!msg.empty());
    CHECK(msg.find('\n') == std::string::npos);
    for (const auto& e : expected) CHECK(msg.find(e) != std::string::npos);
}

// Writes `bytes` to `path` exactly (binary: no newline translation).
inline void write_text(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
    REQUIRE(f.good());
}

// What `amflow args...` printed and returned, run in this process: `out` and
// `err` are run_amflow's streams (results, --help, the one-line error), then
// `out` gets what the subcommand printed on the process's stdout (printf) and
// `log` its progress lines on the process's stderr. Both are captured, so a
// test's log holds only the test's own messages.
struct CliResult {
    int status;
    std::string out, err, log;
};

// Runs f() with file descriptor fd sent to a temporary file; returns what was written there.
template <class F>
std::string capture_fd(int fd, F&& f) {
    std::fflush(nullptr);
    std::cout.flush();
    std::cerr.flush();
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(fd);
    ::dup2(::fileno(file), fd);
    struct Restore {  // also when f throws
        int fd, saved;
        ~Restore() {
            std::fflush(nullptr);
            std::cout.flush();
            std::cerr.flush();
            ::dup2(saved, fd);
            ::close(saved);
        }
    };
    {
        Restore restore{fd, saved};
        f();
    }
    std::string text;
    std::rewind(file);
    for (int c; (c = std::fgetc(file)) != EOF;) text += char(c);
    std::fclose(file);
    return text;
}

// Under AddressSanitizer the process's stderr is left alone: a sanitizer
// report goes there just before the process aborts, and must not vanish
// into a temporary file (`log` stays empty in that build).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool capture_stderr = false;
#else
constexpr bool capture_stderr = true;
#endif

inline CliResult amflow(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int status = 0;
    std::string printed, log;
    const auto run = [&] { printed = capture_fd(STDOUT_FILENO, [&] { status = cli::run_amflow(args, out, err); }); };
    if (capture_stderr)
        log = capture_fd(STDERR_FILENO, run);
    else
        run();
    return {status, out.str() + printed, err.str(), log};
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
