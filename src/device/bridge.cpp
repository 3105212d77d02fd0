// Design: docs/design.md#the-thrust-engine
#include "device/bridge.hpp"
#include "device/functors.hpp"

#include <string>
#include <vector>

namespace am::device {

static_assert(kDataGapMin == float(nn::kDataGapMin), "the device's data-output gap is nn's");
static_assert(kMaxTimeFeatures == nn::kMaxTimeFeatures, "the device's limit on time features is nn's");

MLPLayout layout_of(const nn::VelocityMLP<float>& net) {
    AM_CHECK(net.mlp().activation() == nn::Activation::SiLU,
             "thrust backend: the velocity MLP must use SiLU, it uses " + nn::activation_name(net.mlp().activation()));
    const MLPLayout m = mlp_layout(int(net.dim()), int(net.width()), int(net.depth()), "thrust backend",
                                  int(net.time_features()), net.output() == nn::VelocityOutput::Data);
    AM_CHECK(m.size() == net.num_parameters(),
             "thrust backend: the velocity MLP has " + std::to_string(net.num_parameters()) +
                 " parameters, the device layout expects " + std::to_string(m.size()));
    return m;
}

void upload_parameters(const nn::VelocityMLP<float>& net, Array& params) {
    const MLPLayout m = layout_of(net);
    std::vector<float> host;
    host.reserve(m.size());
    for (const auto& p : net.parameters()) host.insert(host.end(), p.value().begin(), p.value().end());
    params.upload(host.data(), host.size());
}

void download_parameters(const Array& params, const nn::VelocityMLP<float>& net) {
    const MLPLayout m = layout_of(net);
    AM_CHECK(params.size() == m.size(), "thrust backend: " + std::to_string(params.size()) +
                                            " device parameters for a network of " + std::to_string(m.size()));
    const std::vector<float> host = params.to_host();
    std::size_t off = 0;
    for (auto p : net.parameters()) {
        Mat<float>& v = p.value();
        std::copy(host.begin() + off, host.begin() + off + v.size(), v.begin());
        off += v.size();
    }
}

void upload(const Mat<float>& a, Array& out) { out.upload(a.data(), a.size()); }

Mat<float> download(const Array& a, Index rows, Index cols) {
    AM_CHECK(std::size_t(rows * cols) == a.size(), "download: a device array of " + std::to_string(a.size()) +
                                                       " floats is not (" + std::to_string(rows) + ", " +
                                                       std::to_string(cols) + ")");
    Mat<float> m = zeros<float>(rows, cols);
    a.download(m.data());
    return m;
}

}  // namespace am::device
