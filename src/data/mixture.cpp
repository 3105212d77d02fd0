// Design: docs/design.md#data
#include "data/mixture.hpp"

#include <cmath>
#include <limits>

#include "core/linalg.hpp"

namespace am::data {

GaussianMixture GaussianMixture::isotropic(std::vector<double> weights, Mat<double> means,
                                           const std::vector<double>& stds) {
    AM_CHECK(stds.size() == weights.size(), "mixture: " + std::to_string(stds.size()) + " stds for " +
                                                std::to_string(weights.size()) + " components");
    GaussianMixture m;
    m.weights = std::move(weights);
    m.means = std::move(means);
    const Index d = cols(m.means);
    for (double s : stds) {
        AM_CHECK(s > 0 && std::isfinite(s), "mixture: a std is not a positive number");
        Mat<double> S = zeros<double>(d, d);
        for (Index i = 0; i < d; ++i) S(i, i) = s * s;
        m.covs.push_back(S);
    }
    m.validate();
    return m;
}

void GaussianMixture::validate() {
    const Index n = size();
    AM_CHECK(n > 0, "mixture: no components");
    AM_CHECK(rows(means) == n, "mixture: " + std::to_string(rows(means)) + " means for " + std::to_string(n) +
                                   " weights");
    AM_CHECK(Index(covs.size()) == n, "mixture: " + std::to_string(covs.size()) + " covariances for " +
                                          std::to_string(n) + " weights");
    AM_CHECK(dim() > 0, "mixture: the means have no coordinates");
    double total = 0;
    for (Index k = 0; k < n; ++k) {
        const std::string which = "mixture component " + std::to_string(k);
        AM_CHECK(weights[k] >= 0 && std::isfinite(weights[k]), which + ": the weight must be >= 0");
        total += weights[k];
        for (Index i = 0; i < dim(); ++i) AM_CHECK(std::isfinite(means(k, i)), which + ": the mean is not finite");
        AM_CHECK(rows(covs[k]) == dim() && cols(covs[k]) == dim(),
                 which + ": the covariance is " + shape_str(covs[k]) + ", expected (" + std::to_string(dim()) +
                     ", " + std::to_string(dim()) + ")");
        for (Index i = 0; i < dim(); ++i)
            for (Index j = 0; j < dim(); ++j)
                AM_CHECK(std::isfinite(covs[k](i, j)) &&
                             std::abs(covs[k](i, j) - covs[k](j, i)) <= 1e-9 * (1 + std::abs(covs[k](i, j))),
                         which + ": the covariance is not symmetric");
        try {
            linalg::cholesky(covs[k]);
        } catch (const Error&) {
            throw Error(which + ": the covariance is not positive definite");
        }
    }
    AM_CHECK(total > 0, "mixture: the weights sum to zero");
    for (double& w : weights) w /= total;
}

Mat<float> GaussianMixture::sample(Index n, Rng& rng, std::vector<int>* labels) const {
    const Index d = dim();
    std::vector<Mat<double>> L;
    for (const auto& S : covs) L.push_back(linalg::cholesky(S));
    Mat<float> x = zeros<float>(n, d);
    if (labels) labels->assign(std::size_t(n), 0);
    std::vector<double> eps(d);
    for (Index i = 0; i < n; ++i) {
        // component k with probability w_k (inverse of the cumulative weights)
        double u = rng.uniform();
        Index k = 0;
        while (k + 1 < size() && u >= weights[k]) u -= weights[k++];
        for (auto& e : eps) e = rng.normal();
        for (Index a = 0; a < d; ++a) {
            double v = means(k, a);
            for (Index b = 0; b <= a; ++b) v += L[k](a, b) * eps[b];  // mu + L eps
            x(i, a) = float(v);
        }
        if (labels) (*labels)[i] = int(k);
    }
    return x;
}

namespace {
// log w_k + log N(x_i; mu_k, S_k): (N, n)
Mat<double> log_joint(const GaussianMixture& m, const Mat<float>& x) {
    AM_CHECK(cols(x) == m.dim(), "mixture of dimension " + std::to_string(m.dim()) + " given points " + shape_str(x));
    const Index N = rows(x), n = m.size(), d = m.dim();
    Mat<double> out = zeros<double>(N, n);
    for (Index k = 0; k < n; ++k) {
        const Mat<double> L = linalg::cholesky(m.covs[k]);
        const double c = std::log(m.weights[k]) - 0.5 * (linalg::logdet_from_cholesky(L) + double(d) * std::log(2 * M_PI));
#pragma omp parallel for if (N > 4096)
        for (Index i = 0; i < N; ++i) {
            std::vector<double> z(d);
            double q = 0;
            for (Index a = 0; a < d; ++a) {
                double s = double(x(i, a)) - m.means(k, a);
                for (Index b = 0; b < a; ++b) s -= L(a, b) * z[b];
                z[a] = s / L(a, a);
                q += z[a] * z[a];
            }
            out(i, k) = c - 0.5 * q;
        }
    }
    return out;
}
}  // namespace

Mat<double> GaussianMixture::responsibilities(const Mat<float>& x) const {
    Mat<double> lj = log_joint(*this, x);
    for (Index i = 0; i < rows(lj); ++i) {
        double mx = -std::numeric_limits<double>::infinity(), s = 0;
        for (Index k = 0; k < cols(lj); ++k) mx = std::max(mx, lj(i, k));
        for (Index k = 0; k < cols(lj); ++k) s += (lj(i, k) = std::exp(lj(i, k) - mx));
        for (Index k = 0; k < cols(lj); ++k) lj(i, k) /= s;
    }
    return lj;
}

Mat<double> GaussianMixture::log_density(const Mat<float>& x) const {
    const Mat<double> lj = log_joint(*this, x);
    Mat<double> out = zeros<double>(rows(x), 1);
    for (Index i = 0; i < rows(lj); ++i) {
        double mx = -std::numeric_limits<double>::infinity(), s = 0;
        for (Index k = 0; k < cols(lj); ++k) mx = std::max(mx, lj(i, k));
        for (Index k = 0; k < cols(lj); ++k) s += std::exp(lj(i, k) - mx);
        out(i, 0) = mx + std::log(s);
    }
    return out;
}

GaussianMixture default_ring() {
    const int n = 8;
    Mat<double> means = zeros<double>(n, 2);
    for (int k = 0; k < n; ++k) {
        means(k, 0) = 4.0 * std::cos(2 * M_PI * k / n);
        means(k, 1) = 4.0 * std::sin(2 * M_PI * k / n);
    }
    return GaussianMixture::isotropic(std::vector<double>(n, 1.0 / n), means, std::vector<double>(n, 0.5));
}

ModeStats mode_stats(const GaussianMixture& mix, const Mat<float>& x) {
    const Index n = mix.size(), d = mix.dim(), N = rows(x);
    const Mat<double> r = mix.responsibilities(x);
    ModeStats st;
    st.counts.assign(std::size_t(n), 0);
    st.means = zeros<double>(n, d);
    st.covs.assign(std::size_t(n), zeros<double>(d, d));
    std::vector<Index> assign(static_cast<std::size_t>(N));
    for (Index i = 0; i < N; ++i) {
        Index best = 0;
        for (Index k = 1; k < n; ++k)
            if (r(i, k) > r(i, best)) best = k;
        assign[i] = best;
        ++st.counts[best];
        for (Index a = 0; a < d; ++a) st.means(best, a) += x(i, a);
    }
    for (Index k = 0; k < n; ++k)
        for (Index a = 0; a < d; ++a)
            st.means(k, a) = st.counts[k] ? st.means(k, a) / double(st.counts[k]) : std::nan("");
    for (Index i = 0; i < N; ++i) {
        const Index k = assign[i];
        for (Index a = 0; a < d; ++a)
            for (Index b = 0; b < d; ++b)
                st.covs[k](a, b) += (x(i, a) - st.means(k, a)) * (x(i, b) - st.means(k, b));
    }
    for (Index k = 0; k < n; ++k) {
        st.weights.push_back(N ? double(st.counts[k]) / double(N) : 0.0);
        if (st.counts[k] > 1) st.covs[k] /= double(st.counts[k] - 1);
    }
    return st;
}

double total_variation(const std::vector<double>& p, const std::vector<double>& q) {
    AM_CHECK(p.size() == q.size(), "total_variation: the weight vectors differ in length");
    double s = 0;
    for (std::size_t k = 0; k < p.size(); ++k) s += std::abs(p[k] - q[k]);
    return 0.5 * s;
}

}  // namespace am::data
