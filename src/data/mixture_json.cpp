// Design: docs/design.md#data
#include "data/mixture_json.hpp"

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/file_io.hpp"

namespace am::data {

namespace {

using nlohmann::json;

// Builds the error for field `field` of file `where`.
Error bad(const std::string& where, const std::string& field, const std::string& problem) {
    return Error(where + ": mixture JSON: " + field + " " + problem);
}

// The JSON array at j, with its length checked when `expected` >= 0.
const json& array_of(const json& j, const std::string& where, const std::string& field,
                     Index expected) {
    if (!j.is_array()) throw bad(where, field, "must be an array, found " + j.dump());
    if (expected >= 0 && Index(j.size()) != expected)
        throw bad(where, field,
                  "has " + std::to_string(j.size()) + " entries, expected " +
                      std::to_string(expected));
    return j;
}

// A finite number (JSON has no NaN or infinity literals, so a value that is
// not a number is the only way to get one wrong).
double number(const json& j, const std::string& where, const std::string& field) {
    if (!j.is_number()) throw bad(where, field, "must be a number, found " + j.dump());
    const double v = j.get<double>();
    if (!std::isfinite(v)) throw bad(where, field, "is not finite");
    return v;
}

std::string at(const std::string& field, std::size_t i) {
    return field + "[" + std::to_string(i) + "]";
}

std::vector<double> read_weights(const json& j, const std::string& where) {
    const json& a = array_of(j, where, "\"weights\"", -1);
    if (a.empty()) throw bad(where, "\"weights\"", "is empty: a mixture needs a component");
    std::vector<double> w;
    for (std::size_t k = 0; k < a.size(); ++k) {
        w.push_back(number(a[k], where, at("weights", k)));
        if (w.back() < 0) throw bad(where, at("weights", k), "is negative");
    }
    return w;
}

// Means (n, d); d is the length of the first row and every row must match.
Mat<double> read_means(const json& j, const std::string& where, Index n) {
    const json& a = array_of(j, where, "\"means\"", n);
    const Index d = Index(array_of(a[0], where, "means[0]", -1).size());
    if (d == 0) throw bad(where, "means[0]", "is empty: the dimension must be >= 1");
    Mat<double> means = zeros<double>(n, d);
    for (Index k = 0; k < n; ++k) {
        const json& row = a[std::size_t(k)];
        if (!row.is_array() || Index(row.size()) != d)
            throw bad(where, at("means", std::size_t(k)),
                      "must be an array of " + std::to_string(d) +
                          " numbers like means[0] (ragged means), found " + row.dump());
        for (Index i = 0; i < d; ++i)
            means(k, i) = number(row[std::size_t(i)], where,
                                 at(at("means", std::size_t(k)), std::size_t(i)));
    }
    return means;
}

std::vector<Mat<double>> read_stds(const json& j, const std::string& where, Index n, Index d) {
    const json& a = array_of(j, where, "\"stds\"", n);
    std::vector<Mat<double>> covs;
    for (Index k = 0; k < n; ++k) {
        const double s = number(a[std::size_t(k)], where, at("stds", std::size_t(k)));
        if (s <= 0) throw bad(where, at("stds", std::size_t(k)), "must be > 0");
        Mat<double> c = zeros<double>(d, d);
        for (Index i = 0; i < d; ++i) c(i, i) = s * s;
        covs.push_back(std::move(c));
    }
    return covs;
}

std::vector<Mat<double>> read_covs(const json& j, const std::string& where, Index n, Index d) {
    const json& a = array_of(j, where, "\"covs\"", n);
    std::vector<Mat<double>> covs;
    for (Index k = 0; k < n; ++k) {
        const std::string ck = at("covs", std::size_t(k));
        const json& m = array_of(a[std::size_t(k)], where, ck, d);
        Mat<double> c = zeros<double>(d, d);
        for (Index i = 0; i < d; ++i) {
            const json& row = array_of(m[std::size_t(i)], where, at(ck, std::size_t(i)), d);
            for (Index l = 0; l < d; ++l)
                c(i, l) = number(row[std::size_t(l)], where,
                                 at(at(ck, std::size_t(i)), std::size_t(l)));
        }
        for (Index i = 0; i < d; ++i)
            for (Index l = 0; l < i; ++l)
                if (std::abs(c(i, l) - c(l, i)) > 1e-12 * std::max(1.0, std::abs(c(i, l))))
                    throw bad(where, ck,
                              "is not symmetric: [" + std::to_string(i) + "][" +
                                  std::to_string(l) + "] != [" + std::to_string(l) + "][" +
                                  std::to_string(i) + "]");
        covs.push_back(std::move(c));
    }
    return covs;
}

void check_keys(const json& doc, const std::string& where) {
    for (const auto& item : doc.items()) {
        const std::string& key = item.key();
        if (key != "weights" && key != "means" && key != "stds" && key != "covs")
            throw bad(where, "key \"" + key + "\"",
                      "is not known (expected \"weights\", \"means\", \"stds\" or \"covs\")");
    }
    for (const char* key : {"weights", "means"})
        if (!doc.contains(key)) throw bad(where, std::string("key \"") + key + "\"", "is missing");
    const bool stds = doc.contains("stds"), covs = doc.contains("covs");
    if (stds == covs)
        throw bad(where, "\"stds\"/\"covs\"",
                  stds ? "are both given: give exactly one" : "are both missing: give exactly one");
}

// True when c == s^2 I for some s (then *std = s).
bool isotropic_std(const Mat<double>& c, double* std) {
    for (Index i = 0; i < rows(c); ++i)
        for (Index l = 0; l < cols(c); ++l)
            if (c(i, l) != (i == l ? c(0, 0) : 0.0)) return false;
    *std = std::sqrt(c(0, 0));
    return *std * *std == c(0, 0);
}

}  // namespace

GaussianMixture parse_mixture_json(const std::string& text, const std::string& where) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception& e) {  // a syntax error, or a number too large for a double (1e400)
        throw Error(where + ": mixture JSON: invalid JSON: " + e.what());
    }
    if (!doc.is_object()) throw Error(where + ": mixture JSON: the top level must be an object");
    check_keys(doc, where);

    GaussianMixture mix;
    mix.weights = read_weights(doc["weights"], where);
    const Index n = Index(mix.weights.size());
    mix.means = read_means(doc["means"], where, n);
    // the covariances are n dense d x d matrices: a short file must not ask for gigabytes
    const double cov_entries = double(n) * double(mix.dim()) * double(mix.dim());
    if (mix.dim() > kMaxMixtureDim || cov_entries > double(kMaxCovarianceEntries))
        throw bad(where, "\"means\"",
                  "describe " + std::to_string(n) + " components of dimension " + std::to_string(mix.dim()) +
                      ": at most dimension " + std::to_string(kMaxMixtureDim) + " and " +
                      std::to_string(kMaxCovarianceEntries) + " covariance entries (components x d x d) are read");
    mix.covs = doc.contains("stds") ? read_stds(doc["stds"], where, n, mix.dim())
                                    : read_covs(doc["covs"], where, n, mix.dim());
    try {
        mix.validate();
    } catch (const Error& e) {
        throw Error(where + ": mixture JSON: " + e.what());
    }
    return mix;
}

GaussianMixture load_mixture_json(const std::string& path) {
    return parse_mixture_json(read_file(path), path);
}

std::string mixture_to_json(const GaussianMixture& mix) {
    json doc;
    doc["weights"] = mix.weights;
    json means = json::array();
    for (Index k = 0; k < mix.size(); ++k) {
        json row = json::array();
        for (Index i = 0; i < mix.dim(); ++i) row.push_back(mix.means(k, i));
        means.push_back(row);
    }
    doc["means"] = means;

    std::vector<double> stds;
    double s = 0;
    for (const auto& c : mix.covs)
        if (isotropic_std(c, &s)) stds.push_back(s);
    if (stds.size() == mix.covs.size()) {
        doc["stds"] = stds;
    } else {
        json covs = json::array();
        for (const auto& c : mix.covs) {
            json m = json::array();
            for (Index i = 0; i < rows(c); ++i) {
                json row = json::array();
                for (Index l = 0; l < cols(c); ++l) row.push_back(c(i, l));
                m.push_back(row);
            }
            covs.push_back(m);
        }
        doc["covs"] = covs;
    }
    return doc.dump() + "\n";
}

void save_mixture_json(const std::string& path, const GaussianMixture& mix) {
    write_file_atomic(path, mixture_to_json(mix));
}

}  // namespace am::data
