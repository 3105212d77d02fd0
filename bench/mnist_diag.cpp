// mnist-diag: where an image flow model falls short (issue: the MNIST base).
// For one checkpoint and the reward classifier, N samples per sampler from the
// same X_0, and per sampler:
//   confident   share with max_k p(k | x) >= 0.9 (real test digits: about 94%)
//   TV_real     total variation of the predicted-label mix to the real test split's
//   grey        mean over pixels of the distance to the nearer of black / white,
//               (1 - |x|) / 2 in [0, 0.5] for x in [-1, 1]: speckle and blur
//               raise it (real test digits: printed as the first line)
// Samplers: the ODE (Euler, Heun) and the memoryless SDE (exact, paper, offset
// schemes) at several K; "+denoise": the same run, but its last step replaced
// by the denoiser's estimate  x1_hat = X_{K-1} + (1 - t_{K-1}) v(X_{K-1}, t_{K-1})
// (CondOT: E[X_1 | X_t = x] = x + (1 - t) v(x, t)); "hat@k": that estimate taken
// at step k < K - 1 of the memoryless SDE (what the last steps add).
//
//   make build/mnist-diag
//   build/mnist-diag BASE.ckpt CLASSIFIER.ckpt [N] [SEED]
//   env QUICK=1: only the two samplers of the evaluation (ODE Heun K = 20, SDE exact K = 40)
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <string>
#include <vector>

#include "data/images.hpp"
#include "finetune/evaluation.hpp"
#include "flow/network_field.hpp"
#include "flow/sampler.hpp"
#include "nn/checkpoint.hpp"
#include "recipes/models.hpp"

using namespace am;

namespace {

double grey(const Mat<float>& x) {
    double s = 0;
    for (Index i = 0; i < rows(x); ++i)
        for (Index j = 0; j < cols(x); ++j) s += (1.0 - std::min(1.0, std::abs(double(x(i, j))))) / 2;
    return s / double(rows(x) * cols(x));
}

struct Row {
    std::string name;
    double confident, tv_real, grey;
};

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::fprintf(stderr, "usage: mnist-diag BASE.ckpt CLASSIFIER.ckpt [N] [SEED]\n");
        return 2;
    }
    const Index n = argc > 3 ? std::atol(argv[3]) : 1000;
    const std::uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
    recipes::LoadedField base = recipes::LoadedField::from_options(argv[1], "");
    const flow::VelocityField& v = base.field();
    const Index d = v.dim();
    const nn::MLP<float> cls = nn::load_classifier(argv[2], d, data::kImageClasses);
    const data::ImageData data = data::load_image_data("mnist");

    std::vector<double> real_mix(10, 0.0);
    for (const int l : data.test.labels) real_mix[std::size_t(l)] += 1.0 / double(data.test.labels.size());
    auto figures = [&](const std::string& name, const Mat<float>& x) {
        const auto ev = finetune::evaluate_images(cls, x, -1, nullptr, 0.9, 0);
        double tv = 0;
        for (int c = 0; c < 10; ++c) tv += 0.5 * std::abs(ev.label_share[std::size_t(c)] - real_mix[std::size_t(c)]);
        std::printf("| %s | %.1f%% | %.3f | %.4f |", name.c_str(), 100 * ev.share_confident, tv,
                    grey(data::clamp_model(x)));
        for (const double s : ev.label_share) std::printf(" %.1f", 100 * s);
        std::printf(" |\n");
        std::fflush(stdout);
    };
    std::printf("| sampler | confident | TV_real | grey | labels 0..9 (%%) |\n|---|---|---|---|---|\n");
    figures("real test digits", data.test.images);

    Rng rng0(seed);
    const Mat<float> x0 = rng0.normal<float>(n, d);
    const flow::Path& path = base.path();
    auto denoise = [&](const Mat<float>& x, double t) {
        Mat<float> out = x + float(1 - t) * v.velocity(x, float(t));
        return out;
    };
    const bool quick = std::getenv("QUICK") != nullptr;
    if (quick) {
        Rng rng(seed + 7);
        figures("ODE Heun K=20", flow::sample_ode(v, x0, 20, flow::OdeMethod::Heun));
        figures("SDE exact K=40", flow::sample_sde(v, path, flow::parse_noise("memoryless"), 40,
                                                   flow::Scheme::Exact, x0, rng));
        return 0;
    }
    for (const int K : {20, 50, 100}) {
        std::vector<Mat<float>> traj;
        figures("ODE Euler K=" + std::to_string(K), flow::sample_ode(v, x0, K, flow::OdeMethod::Euler));
        figures("ODE Heun K=" + std::to_string(K), flow::sample_ode(v, x0, K, flow::OdeMethod::Heun, &traj));
        figures("ODE Heun K=" + std::to_string(K) + " +denoise", denoise(traj[std::size_t(K - 1)], 1.0 - 1.0 / K));
    }
    for (const char* scheme : {"exact", "paper", "offset"}) {
        for (const int K : {40, 100}) {
            if (std::string(scheme) != "exact" && K != 40) continue;
            const flow::StepGrid grid =
                flow::make_step_grid(path, flow::parse_noise("memoryless"), K, flow::parse_scheme(scheme));
            Rng rng(seed + 7);
            std::vector<Mat<float>> traj;
            const Mat<float> x1 = flow::sample_sde(v, grid, x0, rng, &traj);
            const std::string name = std::string("SDE ") + scheme + " K=" + std::to_string(K);
            figures(name, x1);
            figures(name + " +denoise", denoise(traj[std::size_t(K - 1)], grid[std::size_t(K - 1)].t0));
            if (std::string(scheme) == "exact" && K == 40)
                for (const int k : {36, 32, 28, 20})
                    figures(name + " hat@" + std::to_string(k) + " (t=" + std::to_string(grid[std::size_t(k)].t0).substr(0, 4) + ")",
                            denoise(traj[std::size_t(k)], grid[std::size_t(k)].t0));
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "mnist-diag: error: %s\n", e.what());
    return 1;
}
