// The amflow program as a function, so that the tests can run it in-process:
// parse the arguments, run the subcommand, and turn every error (a wrong
// flag, a missing file, malformed JSON, a non-positive count, a diverging
// run) into one line "amflow: error: ..." on `err` and a non-zero status.
// Design: docs/design.md#command-line
#pragma once

#include <exception>
#include <ostream>
#include <string>
#include <vector>

namespace am::cli {

// args: the command line without the program name, e.g. {"sample", "--n", "10"}.
// Returns the exit status: 0 on success, 1 on an error of the run, 2 on a
// command-line error; `--help` prints to `out` and returns 0.
int run_amflow(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The line (after "amflow: error: ") for an exception that ended subcommand
// `where` ("sample"): the exception's own message, which names what and
// where; std::bad_alloc, which names nothing, gets a sentence.
std::string failure_message(const std::exception& e, const std::string& where);

}  // namespace am::cli
