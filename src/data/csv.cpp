// Design: docs/design.md#data
#include "data/csv.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "core/parse.hpp"
#include "data/file_io.hpp"

namespace am::data {

namespace {

// The comma-separated fields of one line, spaces around each field removed.
std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> fields = split(line, ',');
    for (auto& f : fields) {
        const auto first = f.find_first_not_of(" \t");
        const auto last = f.find_last_not_of(" \t");
        f = first == std::string::npos ? "" : f.substr(first, last - first + 1);
    }
    return fields;
}

bool is_blank(const std::string& line) {
    return line.find_first_not_of(" \t") == std::string::npos;
}

}  // namespace

std::string samples_csv(const Mat<float>& x, const std::string& path) {
    for (std::size_t k = 0; k < x.size(); ++k)
        if (!std::isfinite(x.data()[k])) {
            const Index d = std::max<Index>(1, cols(x));
            throw Error("samples " + path + " not written: sample " + std::to_string(Index(k) / d) + " coordinate " +
                        std::to_string(Index(k) % d) + " is " + format_number(x.data()[k]) +
                        " (the samples are not finite)");
        }
    std::string text;
    for (Index j = 0; j < cols(x); ++j) text += (j ? ",x" : "x") + std::to_string(j);
    text += '\n';
    char buf[32];
    for (Index i = 0; i < rows(x); ++i) {
        for (Index j = 0; j < cols(x); ++j) {
            std::snprintf(buf, sizeof buf, "%s%.9g", j ? "," : "", double(x(i, j)));
            text += buf;
        }
        text += '\n';
    }
    return text;
}

void write_samples_csv(const std::string& path, const Mat<float>& x) { write_file_atomic(path, samples_csv(x, path)); }

Mat<float> read_samples_csv(const std::string& path) { return parse_samples_csv(read_file(path), path); }

Mat<float> parse_samples_csv(const std::string& text, const std::string& path) {
    std::istringstream in(text);
    std::string line;
    Index lineno = 0, d = 0;
    std::vector<float> values;
    const auto where = [&] { return path + ":" + std::to_string(lineno) + ": "; };

    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
        if (is_blank(line)) continue;
        const auto fields = split_fields(line);
        if (d == 0) {  // the header
            for (const auto& f : fields)
                if (parse_double(f))
                    throw Error(where() + "missing header: expected column names (x0,x1,...), found \"" +
                                line + "\"");
            d = Index(fields.size());
            continue;
        }
        if (Index(fields.size()) != d)
            throw Error(where() + "ragged row: " + std::to_string(fields.size()) +
                        " fields, the header has " + std::to_string(d));
        for (std::size_t j = 0; j < fields.size(); ++j) {
            const auto v = parse_double(fields[j]);
            if (!v)
                throw Error(where() + "field " + std::to_string(j + 1) + " \"" + fields[j] +
                            "\" is not a number");
            if (!std::isfinite(float(*v)))
                throw Error(where() + "field " + std::to_string(j + 1) + " \"" + fields[j] +
                            "\" is not a finite float");
            values.push_back(float(*v));
        }
    }
    if (d == 0) throw Error(path + ": empty file: expected a header line x0,x1,... and rows");

    Mat<float> x = zeros<float>(Index(values.size()) / d, d);
    std::copy(values.begin(), values.end(), x.begin());
    return x;
}

}  // namespace am::data
