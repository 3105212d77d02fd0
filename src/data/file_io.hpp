// Whole-file reading and atomic file writing, shared by the data and plot
// writers (JSON, CSV, IDX, PNG).
//
// "Atomic" means: the bytes go to PATH.tmp first, which is then renamed onto
// PATH (std::rename, atomic on POSIX within one file system). A reader never
// sees a half-written file, and a crash leaves at worst a stray PATH.tmp.
// Design: docs/design.md#data
#pragma once

#include <string>

namespace am::data {

// The whole content of a file. Throws am::Error "cannot open PATH: reason".
std::string read_file(const std::string& path);

// Writes `bytes` to PATH.tmp, then renames it onto PATH.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The rename half of the above, for writers that produce PATH.tmp themselves
// (the gzip writer of idx.cpp): renames `tmp` onto `path`, removing `tmp`
// and throwing am::Error if that fails.
void replace_file(const std::string& tmp, const std::string& path);

}  // namespace am::data
