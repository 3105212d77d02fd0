// Design: docs/design.md#adjoints
#include "finetune/adjoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/parse.hpp"

namespace am::finetune {

using ag::Var;

namespace {

// y = alpha * x + beta * y, elementwise over equal shapes.
void axpby(float alpha, const Mat<float>& x, float beta, Mat<float>& y) {
    const float* px = x.data();
    float* py = y.data();
    const Index n = Index(y.size());
#pragma omp parallel for simd if (n > (1 << 15))
    for (Index i = 0; i < n; ++i) py[i] = alpha * px[i] + beta * py[i];
}

void check_trajectory(const flow::StepGrid& grid, const std::vector<Mat<float>>& traj, const char* who) {
    AM_CHECK(traj.size() == grid.size() + 1,
             std::string(who) + ": the trajectory has " + std::to_string(traj.size()) +
                 " states, a grid of " + std::to_string(grid.size()) + " steps needs " +
                 std::to_string(grid.size() + 1));
}

}  // namespace

Mat<float> terminal_adjoint(const Reward& reward, double lambda, const Mat<float>& x1, Mat<float>* r_out) {
    Mat<float> g = reward.grad(x1, r_out);
    g *= float(-lambda);
    return g;
}

namespace {
// The lean recursion a_k = M_k^T m_k, M_k^T v = c_k v + d_k J_base(X_k)^T v, where the
// vector carried back, m_k, is a_{k+1} itself or (ft and bootstrap given, on the
// blended steps) (1 - w) a_{k+1} + w g_k, g_k = -(d_k / s_k^2) delta_k(X_k).
Adjoint lean_recursion(const flow::VelocityField& base, const flow::StepGrid& grid,
                       const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal,
                       const FineTunedModel* ft, const Bootstrap& bootstrap, const char* who) {
    check_trajectory(grid, traj, who);
    const std::size_t K = grid.size();
    Adjoint out;
    out.a.resize(K + 1);
    out.v_base.resize(K);
    out.a[K] = a_terminal;
    for (std::size_t k = K; k-- > 0;) {
        const auto& st = grid[k];
        const float t = float(st.t0);
        const bool blend = ft && bootstrap.weight > 0 && k + 1 < K && st.s > 0 && st.d != 0 &&
                           st.t0 < bootstrap.t_max;
        Mat<float> blended;
        if (blend) {
            ag::NoGrad no_tape;
            const Mat<float> vb = base.velocity(traj[k], t);
            blended = ft->delta(traj[k], full<float>(rows(traj[k]), 1, t), vb).value();
            axpby(float(1 - bootstrap.weight), out.a[k + 1], float(-bootstrap.weight * st.d / (st.s * st.s)),
                  blended);
        }
        const Mat<float>& carried = blend ? blended : out.a[k + 1];
        Mat<float> a = base.vjp(traj[k], t, carried, &out.v_base[k]);
        axpby(float(st.c), carried, float(st.d), a);
        out.a[k] = std::move(a);
    }
    return out;
}
}  // namespace

Adjoint lean_adjoint(const flow::VelocityField& base, const flow::StepGrid& grid,
                     const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal) {
    return lean_recursion(base, grid, traj, a_terminal, nullptr, Bootstrap{}, "lean_adjoint");
}

Bootstrap Bootstrap::parse(const std::string& spec) {
    Bootstrap b;
    if (spec == "off") return b;
    const auto parts = split(spec, ':');
    const auto w = parts.size() <= 3 ? parse_double(parts[0]) : std::nullopt;
    AM_CHECK(w && *w >= 0 && *w <= 1, "bootstrap '" + spec + "': expected W[:TMAX[:FROM]] with W in [0, 1] (off: 0)");
    b.weight = *w;
    if (parts.size() >= 2) {
        const auto t = parse_double(parts[1]);
        AM_CHECK(t && *t > 0 && *t <= 1, "bootstrap '" + spec + "': TMAX must be in (0, 1]");
        b.t_max = *t;
    }
    if (parts.size() == 3) {
        const auto f = parse_long(parts[2]);
        AM_CHECK(f && *f >= 0, "bootstrap '" + spec + "': FROM must be an iteration >= 0");
        b.from_iteration = *f;
    }
    return b;
}

std::string Bootstrap::describe() const {
    if (weight == 0) return "off";
    char buf[64];
    if (from_iteration > 0) std::snprintf(buf, sizeof buf, "%g:%g:%ld", weight, t_max, from_iteration);
    else std::snprintf(buf, sizeof buf, t_max < 1 ? "%g:%g" : "%g", weight, t_max);
    return buf;
}

Adjoint bootstrapped_lean_adjoint(const FineTunedModel& ft, const flow::StepGrid& grid,
                                  const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal,
                                  const Bootstrap& bootstrap) {
    return lean_recursion(ft.base(), grid, traj, a_terminal, &ft, bootstrap, "bootstrapped_lean_adjoint");
}

Adjoint full_adjoint(const FineTunedModel& ft, const flow::StepGrid& grid,
                     const std::vector<Mat<float>>& traj, const Mat<float>& a_terminal) {
    check_trajectory(grid, traj, "full_adjoint");
    const std::size_t K = grid.size();
    Adjoint out;
    out.a.resize(K + 1);
    out.v_base.resize(K);
    out.a[K] = a_terminal;
    for (std::size_t k = K; k-- > 0;) {
        const auto& st = grid[k];
        AM_CHECK(st.s > 0, "full adjoint: step " + std::to_string(k) +
                               " has no noise (sigma = 0): the control cost is undefined");
        const float t = float(st.t0);
        const Mat<float>& a1 = out.a[k + 1];
        Mat<float> v_ft;
        out.v_base[k] = ft.base().velocity(traj[k], t);
        v_ft = ft.velocity(traj[k], t);
        // w = (d^2 / s^2) delta: the running cost's gradient with respect to v_ft
        Mat<float> w = v_ft - out.v_base[k];
        w *= float(st.d * st.d / (st.s * st.s));
        Mat<float> cot_ft = w;
        axpby(float(st.d), a1, 1.0f, cot_ft);  // d a_{k+1} + w
        Mat<float> a = ft.vjp(traj[k], t, cot_ft);
        Mat<float> jb = ft.base().vjp(traj[k], t, w);
        axpby(-1.0f, jb, 1.0f, a);
        axpby(float(st.c), a1, 1.0f, a);
        out.a[k] = std::move(a);
    }
    return out;
}

// ---- which steps carry the loss ----------------------------------------------------------------

LossSteps LossSteps::parse(const std::string& spec) {
    LossSteps s;
    if (spec == "all") return s;
    if (spec == "paper") {
        s.kind = Kind::Paper;
        return s;
    }
    if (spec.rfind("last:", 0) == 0) {
        const auto n = parse_long(spec.substr(5));
        AM_CHECK(n && *n > 0 && *n <= 1000000000L, "loss steps '" + spec + "': last:N needs a positive integer N");
        s.kind = Kind::Last;
        s.n = int(*n);
        return s;
    }
    throw Error("loss steps '" + spec + "': expected all, paper or last:N");
}

std::vector<int> LossSteps::choose(int K, Rng& rng) const {
    std::vector<int> steps;
    switch (kind) {
        case Kind::All:
            for (int k = 0; k < K; ++k) steps.push_back(k);
            break;
        case Kind::Last:
            for (int k = std::max(0, K - n); k < K; ++k) steps.push_back(k);
            break;
        case Kind::Paper: {
            const int m = std::max(1, K / 4);
            std::vector<int> early;
            for (int k = 0; k < K - m; ++k) early.push_back(k);
            // partial Fisher-Yates: m distinct early steps
            for (int i = 0; i < std::min<int>(m, int(early.size())); ++i) {
                const int j = i + int(rng.below(early.size() - i));
                std::swap(early[i], early[j]);
                steps.push_back(early[i]);
            }
            for (int k = K - m; k < K; ++k) steps.push_back(k);
            std::sort(steps.begin(), steps.end());
            break;
        }
    }
    return steps;
}

std::string LossSteps::describe() const {
    switch (kind) {
        case Kind::All: return "all";
        case Kind::Paper: return "paper";
        case Kind::Last: return "last:" + std::to_string(n);
    }
    return "?";
}

// ---- the adjoint-matching loss -------------------------------------------------------------------

LossWeighting parse_loss_weighting(const std::string& name) {
    if (name == "paper") return LossWeighting::Paper;
    if (name == "velocity") return LossWeighting::Velocity;
    if (name == "sqrt") return LossWeighting::Sqrt;
    throw Error("loss weighting '" + name + "': expected paper, velocity or sqrt");
}

std::string loss_weighting_name(LossWeighting w) {
    switch (w) {
        case LossWeighting::Paper: return "paper";
        case LossWeighting::Velocity: return "velocity";
        case LossWeighting::Sqrt: return "sqrt";
    }
    return "?";
}

double loss_weight(const flow::Step& st, LossWeighting w) {
    if (w == LossWeighting::Paper || !(st.s > 0) || st.d == 0) return 1.0;
    const double v = (st.t1 - st.t0) * st.s * st.s / (st.d * st.d);
    return w == LossWeighting::Velocity ? v : std::sqrt(v);
}

ag::Var<float> adjoint_matching_loss(const FineTunedModel& ft, const flow::StepGrid& grid,
                                     const std::vector<Mat<float>>& traj, const Adjoint& adj,
                                     const std::vector<int>& steps, double clip, LossInfo* info,
                                     LossWeighting weighting) {
    check_trajectory(grid, traj, "adjoint_matching_loss");
    AM_CHECK(!steps.empty(), "adjoint_matching_loss: no steps chosen");
    const Index B = rows(traj[0]), d = cols(traj[0]);
    const Index R = Index(steps.size()) * B;
    // All chosen (step, trajectory) rows stacked: one forward and one backward of v_ft.
    Mat<float> x = Mat<float>::from_shape({std::size_t(R), std::size_t(d)});
    Mat<float> t = Mat<float>::from_shape({std::size_t(R), 1});
    Mat<float> vb = Mat<float>::from_shape({std::size_t(R), std::size_t(d)});
    Mat<float> scale = Mat<float>::from_shape({std::size_t(R), 1});   // d_k / s_k
    Mat<float> offset = Mat<float>::from_shape({std::size_t(R), std::size_t(d)});  // s_k a_{k+1}
    Mat<float> dt = Mat<float>::from_shape({std::size_t(R), 1});
    Mat<float> weight = Mat<float>::from_shape({std::size_t(R), 1});  // loss_weight of the row's step
    for (std::size_t j = 0; j < steps.size(); ++j) {
        const int k = steps[j];
        AM_CHECK(k >= 0 && k < int(grid.size()), "adjoint_matching_loss: step out of range");
        const auto& st = grid[k];
        const double h = st.t1 - st.t0;
        const float sc = st.s > 0 ? float(st.d / st.s) : float(st.d / std::sqrt(h));
        const float off = st.s > 0 ? float(st.s) : 0.0f;
        const float wk = float(loss_weight(st, weighting));
        for (Index b = 0; b < B; ++b) {
            const Index r = Index(j) * B + b;
            t(r, 0) = float(st.t0);
            scale(r, 0) = sc;
            dt(r, 0) = float(h);
            weight(r, 0) = wk;
            for (Index i = 0; i < d; ++i) {
                x(r, i) = traj[k](b, i);
                vb(r, i) = adj.v_base[k](b, i);
                offset(r, i) = off * adj.a[k + 1](b, i);
            }
        }
    }
    Var<float> residual = ft.delta(x, t, vb) * Var<float>(scale) + Var<float>(offset);
    // Per-term clip on the continuous scale; a dropped term gets weight 0.
    Mat<float> keep = full<float>(R, 1, 1.0f);
    Index dropped = 0;
    if (clip > 0) {
        for (Index r = 0; r < R; ++r) {
            double sq = 0;
            for (Index i = 0; i < d; ++i) sq += double(residual.value()(r, i)) * residual.value()(r, i);
            if (sq / dt(r, 0) > clip) keep(r, 0) = 0.0f, ++dropped;
        }
    }
    if (weighting != LossWeighting::Paper) keep *= weight;
    if (info) {
        info->terms = R;
        info->clipped_fraction = double(dropped) / double(R);
    }
    Var<float> per_row = ag::sum(ag::square(residual), 1) * Var<float>(keep);
    return ag::sum(per_row) * (0.5f / float(B));
}

// ---- backpropagation through time -----------------------------------------------------------------

ag::Var<float> bptt_loss(const FineTunedModel& ft, const flow::StepGrid& grid, const Mat<float>& x0,
                         const std::vector<Mat<float>>& eps, const Reward& reward, double lambda,
                         std::vector<Var<float>>* states) {
    AM_CHECK(eps.size() == grid.size(), "bptt_loss: need one noise draw per step");
    const Index B = rows(x0);
    Var<float> x(x0, /*requires_grad=*/states != nullptr);  // a leaf when dL/dX_0 is asked for
    Var<float> cost(zeros<float>(B, 1));
    if (states) states->assign(1, x);
    for (std::size_t k = 0; k < grid.size(); ++k) {
        const auto& st = grid[k];
        AM_CHECK(st.s > 0, "bptt: step " + std::to_string(k) +
                               " has sigma = 0; the control cost ||u||^2 is then infinite "
                               "(use a schedule with noise, e.g. memoryless)");
        const float t = float(st.t0);
        Var<float> v_ft = ft.forward(x, t);
        Var<float> delta = v_ft - ft.base().forward(x, t);
        cost = cost + ag::sum(ag::square(delta), 1) * float(st.d * st.d / (2 * st.s * st.s));
        x = x * float(st.c) + v_ft * float(st.d) + Var<float>(eps[k] * float(st.s));
        if (states) states->push_back(x);
    }
    return ag::mean(cost - reward.forward(x) * float(lambda));
}

}  // namespace am::finetune
