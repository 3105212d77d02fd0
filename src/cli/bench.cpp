// amflow-bench: the five canonical workloads of bench/WORKLOADS.md,
// run through the project's own code paths (the same trainers, samplers,
// adjoints and losses the demos use), one JSON object per line.
//
//   amflow-bench                         all workloads, all cores
//   amflow-bench --workloads am2d,bptt2d --threads 1 --quick
//   amflow-bench --workloads sgemm_peak  the machine's float32 matrix-product peak
//   amflow-bench --backend thrust        the Thrust engine (src/device/); bptt2d,
//                                        which it does not implement, stays on autograd
//
// Each line names its engine ("engine": autograd | thrust), for thrust the
// device system ("device_system": omp | cuda | cpp), and where the work ran
// ("backend": cpu | cuda, as the PyTorch peer's lines).
//
// Each workload runs in a child process (this program re-executed), so that
// peak_rss_mb is that workload's own peak.
// Design: docs/design.md#command-line
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/parallel.hpp"
#include "data/mixture.hpp"
#include "device/trainer.hpp"
#include "finetune/trainer.hpp"
#include "flow/flow_matching.hpp"

using namespace am;

namespace {

const char* kGrid = "t_k=k/K (k=0..K-1), kappa_k=1/(t_k+h), sigma_k^2=2(1-t_k)/(t_k+h), h=1/K";
const std::vector<std::string> kWorkloads = {"fm2d", "am2d", "bptt2d", "fmmnist", "ammnist"};

// F(rows) of WORKLOADS.md: sum over the Linear layers of 2 rows in out.
double forward_flop(const nn::VelocityMLP<float>& m, double rows) {
    double f = 0;
    for (const auto& l : m.mlp().layers()) f += 2.0 * rows * double(l.in()) * double(l.out());
    return f;
}

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

// Everything one workload needs, kept alive while it is timed.
struct Workload {
    std::function<void()> step;
    double flop = 0;
    bool uses_grid = false;
    bool thrust = false;  // ran on the Thrust engine
    // owned state
    std::shared_ptr<void> keep;
};

struct FMState {
    Rng rng{0};
    flow::CondOT path;
    nn::VelocityMLP<float> net;
    std::unique_ptr<flow::FlowMatchingTrainer> trainer;
    std::unique_ptr<device::FMTrainer> device_trainer;
};

Workload flow_matching_workload(Index d, Index H, Index B, std::function<Mat<float>(Index, Rng&)> data,
                                bool thrust) {
    auto s = std::make_shared<FMState>();
    s->net = nn::VelocityMLP<float>(d, H, 3, s->rng);
    Workload w;
    w.flop = 3 * forward_flop(s->net, double(B));
    if (thrust) {
        s->device_trainer = std::make_unique<device::FMTrainer>(s->net, s->path, std::move(data), B,
                                                                nn::AdamConfig{1e-3});
        w.step = [s] { s->device_trainer->step(s->rng); };
        w.thrust = true;
    } else {
        s->trainer = std::make_unique<flow::FlowMatchingTrainer>(s->net, s->path, std::move(data), B,
                                                                 nn::AdamConfig{1e-3});
        w.step = [s] { s->trainer->step(s->rng); };
    }
    w.keep = s;
    return w;
}

struct FTState {
    Rng rng{0};
    nn::VelocityMLP<float> base_net;
    nn::MLP<float> classifier;
    std::unique_ptr<flow::NetworkVelocity> base;
    std::unique_ptr<finetune::CopyOfNetwork> ft;
    std::unique_ptr<finetune::Reward> reward;
    std::unique_ptr<finetune::FineTuner> tuner;
    std::unique_ptr<device::AMTrainer> device_trainer;
};

Workload finetune_workload(finetune::Method method, Index d, Index H, Index B, bool classifier, bool thrust) {
    const int K = 40;
    auto s = std::make_shared<FTState>();
    s->base_net = nn::VelocityMLP<float>(d, H, 3, s->rng);
    nn::freeze(s->base_net);
    s->base = std::make_unique<flow::NetworkVelocity>(s->base_net);
    s->ft = std::make_unique<finetune::CopyOfNetwork>(*s->base);
    if (classifier) {
        s->classifier = nn::MLP<float>({784, 256, 10}, nn::Activation::SiLU, s->rng);
        nn::freeze(s->classifier);
        s->reward = std::make_unique<finetune::ClassifierReward>(s->classifier, 3);
    } else {
        std::vector<float> c(std::size_t(d), 0.0f);
        c[0] = 1.0f;
        s->reward = std::make_unique<finetune::LinearReward>(c);
    }
    finetune::FineTuneConfig cfg;
    cfg.method = method;
    cfg.lambda = 0.5;
    cfg.batch = B;
    cfg.adam = nn::AdamConfig{1e-4};
    flow::CondOT path;
    auto grid = flow::make_step_grid(path, flow::parse_noise("memoryless"), K, flow::parse_scheme("offset"));
    Workload w;
    if (thrust && method == finetune::Method::AM) {
        s->device_trainer = std::make_unique<device::AMTrainer>(s->base_net, s->base_net, *s->reward, grid, cfg, 0);
        w.thrust = true;
    } else {
        s->tuner = std::make_unique<finetune::FineTuner>(*s->ft, *s->reward, grid, cfg, 0);
    }
    w.uses_grid = true;
    const double F = forward_flop(s->base_net, double(B));
    if (method == finetune::Method::BPTT) {
        w.flop = K * (3 * F + 2 * F);
    } else {
        w.flop = K * F + K * 2 * F + 3 * forward_flop(s->base_net, double(K) * double(B));
        if (classifier) w.flop += 2.0 * 2.0 * double(B) * (784.0 * 256.0 + 256.0 * 10.0);
    }
    if (w.thrust)
        w.step = [s] { s->device_trainer->iterate(); };
    else
        w.step = [s] { s->tuner->iterate(); };
    w.keep = s;
    return w;
}

Workload build(const std::string& name, bool thrust) {
    if (name == "fm2d") {
        auto ring = std::make_shared<data::GaussianMixture>(data::default_ring());
        return flow_matching_workload(2, 256, 1024, [ring](Index n, Rng& r) { return ring->sample(n, r); }, thrust);
    }
    if (name == "fmmnist") {
        // stand-in pixels in [0, 1] (as the peer): the timing does not depend on the values
        Rng r0(1);
        auto pixels = std::make_shared<Mat<float>>(r0.uniform<float>(2048, 784));
        return flow_matching_workload(784, 1024, 128, [pixels](Index n, Rng& r) {
            Mat<float> x = zeros<float>(n, 784);
            for (Index i = 0; i < n; ++i) {
                const Index k = Index(r.below(2048));
                std::copy_n(pixels->data() + k * 784, 784, x.data() + i * 784);
            }
            return x;
        }, thrust);
    }
    if (name == "am2d") return finetune_workload(finetune::Method::AM, 2, 256, 512, false, thrust);
    if (name == "bptt2d") return finetune_workload(finetune::Method::BPTT, 2, 256, 512, false, thrust);
    if (name == "ammnist") return finetune_workload(finetune::Method::AM, 784, 1024, 64, true, thrust);
    throw Error("unknown workload '" + name + "'");
}

std::string json_line(const std::string& name, int reps, std::vector<double> ms, double flop, int threads,
                      int omp, int blas, bool grid, bool thrust) {
    std::sort(ms.begin(), ms.end());
    const std::size_t n = ms.size();
    const double med = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(3);
    o << "{\"workload\": \"" << name << "\", \"reps\": " << reps << ", \"ms_median\": " << med
      << ", \"ms_min\": " << ms.front() << ", \"ms_max\": " << ms.back();
    o.precision(4);
    o << ", \"gflop\": " << flop / 1e9;
    o.precision(2);
    o << ", \"gflops_per_s\": " << flop / 1e9 / (med / 1e3);
    o.precision(1);
    o << ", \"peak_rss_mb\": " << peak_rss_mb() << ", \"threads\": " << threads
      << ", \"backend\": \"" << (thrust && std::string(device::device_system()) == "cuda" ? "cuda" : "cpu")
      << "\", \"engine\": \"" << (thrust ? "thrust" : "autograd") << "\"";
    if (thrust) o << ", \"device_system\": \"" << device::device_system() << "\"";
    o << ", \"omp_threads\": " << omp << ", \"blas_threads\": " << blas;
    if (grid) o << ", \"grid\": \"" << kGrid << "\"";
    o << ", \"impl\": \"amflow\"}";
    return o.str();
}

std::string sgemm_peak(bool quick, int threads) {
    double best = 0;
    Index best_n = 0;
    std::ostringstream by;
    for (Index n : {1024, 1536, 2048, 3072, 4096}) {
        Rng r(0);
        const Mat<float> a = r.normal<float>(n, n), b = r.normal<float>(n, n);
        Mat<float> c = zeros<float>(n, n);
        const int reps = quick ? 3 : (n <= 2048 ? 10 : 5);
        for (int i = 0; i < 2; ++i) gemm(a, false, b, false, c);
        double tmin = 1e30;
        for (int i = 0; i < reps; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            gemm(a, false, b, false, c);
            tmin = std::min(tmin, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        const double rate = 2.0 * double(n) * n * n / 1e9 / tmin;
        by << (by.tellp() > 0 ? ", " : "") << "\"" << n << "\": " << int(rate * 10) / 10.0;
        if (rate > best) best = rate, best_n = n;
    }
    std::ostringstream o;
    o << "{\"workload\": \"sgemm_peak\", \"n\": " << best_n << ", \"gflops_per_s\": " << int(best * 10) / 10.0
      << ", \"gflops_per_s_by_n\": {" << by.str() << "}, \"note\": \"best over n of 2n^3/min-time, "
      << "OpenBLAS sgemm float32 square\", \"threads\": " << threads << ", \"backend\": \"cpu\", \"impl\": \"amflow\"}";
    return o.str();
}

}  // namespace

int main(int argc, char** argv) {
    init_runtime(argv);
    CLI::App app{"amflow-bench: the canonical workloads of bench/WORKLOADS.md"};
    std::string workloads = "fm2d,am2d,bptt2d,fmmnist,ammnist";
    int threads = int(sysconf(_SC_NPROCESSORS_ONLN));
    int omp_threads = 0, blas_threads = 0, warmup = -1, reps = -1;
    bool quick = false, no_isolate = false, print_coretype = false;
    std::string backend = "autograd";
    app.add_option("--workloads", workloads, "comma-separated: fm2d,am2d,bptt2d,fmmnist,ammnist,sgemm_peak");
    app.add_option("--threads", threads, "cores to use (default: all)")->check(CLI::PositiveNumber);
    app.add_option("--omp-threads", omp_threads, "OpenMP threads for the elementwise loops (default: --threads)");
    app.add_option("--blas-threads", blas_threads, "OpenBLAS threads (default: --threads)");
    app.add_option("--warmup", warmup, "warm-up repetitions (default 3)");
    app.add_option("--reps", reps, "timed repetitions (default 20, 5 for MNIST)");
    app.add_option("--backend", backend, "autograd | thrust (the Thrust engine; bptt2d stays on autograd)")
        ->check(CLI::IsMember({"autograd", "thrust"}));
    app.add_flag("--quick", quick, "smoke test: 1 warm-up and 3 timed repetitions");
    app.add_flag("--no-isolate", no_isolate, "run every workload in this process");
    app.add_flag("--print-coretype", print_coretype, "print the OpenBLAS kernel set in use and exit");
    CLI11_PARSE(app, argc, argv);
    if (print_coretype) {
        std::printf("%s\n", blas_kernels().c_str());
        return 0;
    }

    std::vector<std::string> names;
    std::stringstream ss(workloads);
    for (std::string w; std::getline(ss, w, ',');)
        if (!w.empty()) names.push_back(w);
    for (const auto& w : names)
        if (w != "sgemm_peak" && std::find(kWorkloads.begin(), kWorkloads.end(), w) == kWorkloads.end()) {
            std::fprintf(stderr, "amflow-bench: error: unknown workload '%s' (choose from %s,sgemm_peak)\n",
                         w.c_str(), "fm2d,am2d,bptt2d,fmmnist,ammnist");
            return 2;
        }
    if (names.size() > 1 && !no_isolate) {  // one child process per workload
        for (const auto& w : names) {
            std::string cmd = "'/proc/" + std::to_string(getpid()) + "/exe' --workloads " + w +
                              " --threads " + std::to_string(threads);
            if (omp_threads) cmd += " --omp-threads " + std::to_string(omp_threads);
            if (blas_threads) cmd += " --blas-threads " + std::to_string(blas_threads);
            if (warmup >= 0) cmd += " --warmup " + std::to_string(warmup);
            if (reps >= 0) cmd += " --reps " + std::to_string(reps);
            if (quick) cmd += " --quick";
            cmd += " --backend " + backend;
            std::fflush(stdout);
            if (std::system(cmd.c_str()) != 0) return 1;
        }
        return 0;
    }
    const int omp = omp_threads ? omp_threads : threads, blas = blas_threads ? blas_threads : threads;
    set_threads(omp, blas);
    try {
        for (const auto& name : names) {
            if (name == "sgemm_peak") {
                std::printf("%s\n", sgemm_peak(quick, threads).c_str());
                continue;
            }
            const bool mnist = name.find("mnist") != std::string::npos;
            const int n_warm = warmup >= 0 ? warmup : (quick ? 1 : 3);
            const int n_reps = reps > 0 ? reps : (quick ? 3 : (mnist ? 5 : 20));
            Workload w = build(name, backend == "thrust");
            for (int i = 0; i < n_warm; ++i) w.step();
            std::vector<double> ms;
            for (int i = 0; i < n_reps; ++i) {
                const auto t0 = std::chrono::steady_clock::now();
                w.step();
                ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            std::printf("%s\n",
                        json_line(name, n_reps, ms, w.flop, threads, omp, blas, w.uses_grid, w.thrust).c_str());
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "amflow-bench: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
