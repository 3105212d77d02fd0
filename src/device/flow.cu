// Flow matching and sampling on the device (see flow.hpp).
// Design: docs/design.md#the-thrust-engine
#include "device/flow.hpp"

#include <algorithm>
#include <utility>

#include <thrust/copy.h>
#include <thrust/execution_policy.h>
#include <thrust/reduce.h>

#include "device/functors.hpp"
#include "device/launch.hpp"

namespace am::device {

double flow_matching_loss(const MLPLayout& m, const float* params, int B, FlowMatchingBuffers& buf, float* grad) {
    const std::size_t n = std::size_t(B) * m.d;
    buf.xt.resize(n);
    buf.target.resize(n);
    buf.v.resize(n);
    buf.sq.resize(n);
    for_each_row(std::size_t(B), m.d, FMPair{buf.x1.data(), buf.x0.data(), buf.coef.data(), m.d, buf.xt.data(), buf.target.data()});
    buf.tape.resize(m, B);
    mlp_forward(m, params, buf.xt.data(), buf.t.data(), 0.0f, B, buf.v.data(), buf.tape, 0);
    for_each_range(n, FMResidual{buf.target.data(), 2.0f / float(n), buf.v.data(), buf.sq.data()});
    mlp_backward(m, params, buf.tape, 0, B, buf.v.data(), nullptr, grad);
    return thrust::reduce(thrust::device, buf.sq.data(), buf.sq.data() + n, 0.0) / double(n);
}

void ema_update(float decay, const float* w, float* ema, std::size_t n) {
    for_each_range(n, EMAUpdate{1.0f - decay, w, ema});
}

void sample(const MLPLayout& m, const float* params, const std::vector<StepCoef>& grid, std::uint64_t key, int n,
            int batch, Array& out, FineTuneBuffers& buf) {
    out.resize(std::size_t(n) * m.d);
    const int bs = std::max(1, std::min(batch, n));
    buf.x.resize(std::size_t(bs) * m.d);
    buf.g.resize(std::size_t(bs) * m.d);
    buf.v.resize(std::size_t(bs) * m.d);
    for (int row0 = 0; row0 < n; row0 += bs) {
        const int rows = std::min(bs, n - row0);
        float* cur = buf.x.data();  // X_k
        float* nxt = buf.g.data();  // X_{k+1}
        buf.tape.resize(m, rows);
        normal_fill(key, 0, std::size_t(row0), rows, m.d, cur);
        for (std::size_t k = 0; k < grid.size(); ++k) {
            mlp_forward(m, params, cur, nullptr, grid[k].t0, rows, buf.v.data(), buf.tape, 0);
            sde_step(cur, buf.v.data(), grid[k], key, std::uint32_t(k + 1), std::size_t(row0), rows, m.d, nxt);
            std::swap(cur, nxt);
        }
        thrust::copy(thrust::device, cur, cur + std::size_t(rows) * m.d, out.data() + std::size_t(row0) * m.d);
    }
}

}  // namespace am::device
