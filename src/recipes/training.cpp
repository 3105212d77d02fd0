// Design: docs/design.md#recipes
#include "recipes/training.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

#include "device/trainer.hpp"

namespace am::recipes {

Backend parse_backend(const std::string& name) {
    if (name == "autograd") return Backend::Autograd;
    if (name == "thrust") {
        device::require_device();  // a CUDA build without a GPU: one line, before any work
        return Backend::Thrust;
    }
    throw Error("--backend '" + name + "': expected autograd or thrust");
}

std::string backend_name(Backend b) {
    return b == Backend::Autograd ? "autograd" : std::string("thrust (") + device::device_system() + ")";
}

flow::TrainLog train_flow(Backend backend, nn::VelocityMLP<float>& net, const flow::Path& schedule,
                          const std::function<Mat<float>(Index, Rng&)>& data, const flow::FlowMatchingConfig& cfg,
                          Rng& rng, nn::VelocityMLP<float>* ema) {
    if (backend == Backend::Thrust) return device::train_flow_matching(net, schedule, data, cfg, rng, ema);
    return flow::train_flow_matching(net, schedule, data, cfg, rng, ema);
}

FineTuneSummary run_finetuning(const std::function<finetune::IterationStats()>& iterate, long iters,
                               long report_every, const std::string& label) {
    AM_CHECK(iters > 0, "--iters must be positive");
    reset_peak_rss();
    FineTuneSummary s;
    double total = 0, reward_acc = 0;
    long acc_n = 0;
    for (long i = 1; i <= iters; ++i) {
        s.last = iterate();
        total += s.last.seconds;
        reward_acc += s.last.reward_mean;
        ++acc_n;
        if (report_every > 0 && (i % report_every == 0 || i == iters)) {
            const double per = total / double(i);
            std::fprintf(stderr, "%s: iter %ld/%ld  loss %.4g  mean reward %.4f  %.3f s/iter  %.0f s left\n",
                         label.c_str(), i, iters, s.last.loss, reward_acc / double(acc_n), per,
                         per * double(iters - i));
            reward_acc = 0;
            acc_n = 0;
        }
    }
    s.seconds_per_iter = total / double(iters);
    s.peak_rss_mb = peak_rss_mb();
    return s;
}

double peak_rss_mb() {
    // VmHWM ("high water mark") in /proc/self/status: resettable, unlike getrusage's
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

double current_rss_mb() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

void reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";  // resets VmHWM to the current resident size
}

}  // namespace am::recipes
