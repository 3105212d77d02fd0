// Samples as CSV: the exchange format between the programs, the notebooks
// and any plotting tool.
//
//   x0,x1,...,x{d-1}        header: one name per column
//   0.12345678,-1.5,...     one row per sample, d numbers
//
// Numbers are written with 9 significant digits, enough to read back the
// exact float.
// Design: docs/design.md#data
#pragma once

#include <string>

#include "core/tensor.hpp"

namespace am::data {

// The text of the CSV of the (N, d) samples, header x0,...,x{d-1}. Throws
// am::Error "samples PATH not written: sample i coordinate j is nan ..." if a
// value is not finite (a diverged sampler): no CSV ever holds NaN or inf.
std::string samples_csv(const Mat<float>& x, const std::string& path);
// samples_csv written atomically (data/file_io.hpp).
void write_samples_csv(const std::string& path, const Mat<float>& x);

// Reads a samples CSV: a header line (any names, but not numbers) then rows of
// as many finite numbers; blank lines are skipped. Returns (N, d); N may be 0.
// Throws am::Error "PATH:LINE: problem" for a missing header, a ragged row, a
// field that is not a number, NaN/inf, or an empty file.
Mat<float> read_samples_csv(const std::string& path);
// The same on the text of a file; `where` names it in messages.
Mat<float> parse_samples_csv(const std::string& text, const std::string& where);

}  // namespace am::data
