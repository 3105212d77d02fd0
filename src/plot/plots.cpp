// Design: docs/design.md#pictures
#include "plot/plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <xtensor/xview.hpp>

namespace am::plot {

namespace {

// Layout constants, in pixels.
constexpr int kLeft = 40;       // room for the y tick labels
constexpr int kRight = 16;      // gap after a plot area
constexpr int kTop = 12;        // above everything
constexpr int kTitleH = 28;     // one line of title text (scale 2) and its gap
constexpr int kBottom = 26;     // room for the x tick labels
constexpr float kTitleScale = 2.0f, kTickScale = 1.0f;
const Rgb kText{40, 40, 40}, kGrid{232, 232, 232}, kAxis{190, 190, 190}, kFrame{150, 150, 150};

// A square plot area on the canvas and the data -> pixel map.
struct Frame {
    float x0, y0, size;  // top-left corner and side, pixels
    Limits lim;
    float px(double x) const { return x0 + float((x - lim.xmin) / (lim.xmax - lim.xmin)) * size; }
    float py(double y) const { return y0 + float((lim.ymax - y) / (lim.ymax - lim.ymin)) * size; }
};

// A square around the finite points of all `sets` (pad 8%); [-6, 6]^2 when
// there are none.
Limits square_limits(const std::vector<const Mat<float>*>& sets) {
    double lo[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
    double hi[2] = {-lo[0], -lo[1]};
    for (const Mat<float>* m : sets)
        for (Index i = 0; i < rows(*m); ++i) {
            const float x = (*m)(i, 0), y = (*m)(i, 1);
            if (!std::isfinite(x) || !std::isfinite(y)) continue;
            lo[0] = std::min(lo[0], double(x)), hi[0] = std::max(hi[0], double(x));
            lo[1] = std::min(lo[1], double(y)), hi[1] = std::max(hi[1], double(y));
        }
    if (!(lo[0] <= hi[0])) return Limits{};
    const double cx = 0.5 * (lo[0] + hi[0]), cy = 0.5 * (lo[1] + hi[1]);
    const double half = std::max({0.5 * (hi[0] - lo[0]), 0.5 * (hi[1] - lo[1]), 0.5}) * 1.08;
    return {cx - half, cx + half, cy - half, cy + half};
}

void check_limits(const Limits& lim, const std::string& who) {
    AM_CHECK(std::isfinite(lim.xmin) && std::isfinite(lim.xmax) && std::isfinite(lim.ymin) &&
                 std::isfinite(lim.ymax) && lim.xmin < lim.xmax && lim.ymin < lim.ymax,
             who + ": axis limits must be finite with min < max, got x [" +
                 std::to_string(lim.xmin) + ", " + std::to_string(lim.xmax) + "], y [" +
                 std::to_string(lim.ymin) + ", " + std::to_string(lim.ymax) + "]");
}

// A "nice" tick spacing (1, 2 or 5 times a power of ten) giving about 4-8
// ticks over `range`.
double tick_step(double range) {
    const double raw = range / 6.0;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double m : {1.0, 2.0, 5.0})
        if (m * mag >= raw) return m * mag;
    return 10.0 * mag;
}

std::string tick_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
    return buf;
}

// Title centred above the frame: scale 2 if it fits, else 1.
void draw_title(Canvas& c, float cx, float top, float max_width, const std::string& title) {
    if (title.empty()) return;
    const float scale = Canvas::text_width(title, kTitleScale) <= max_width ? kTitleScale : 1.0f;
    c.text(cx - 0.5f * Canvas::text_width(title, scale), top, title, kText, scale);
}

// Grid lines and tick labels at nice steps, the axes x = 0 and y = 0 when
// visible, and the frame.
void draw_axes(Canvas& c, const Frame& f) {
    const auto draw = [&](double lo, double hi, bool vertical) {
        const double step = tick_step(hi - lo);
        for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) {
            const std::string label = tick_label(v);
            const bool zero = std::abs(v) < 1e-9 * step;
            if (vertical) {
                const float x = std::round(f.px(v)) - 0.5f;  // hit a pixel column exactly
                c.line(x, f.y0, x, f.y0 + f.size, zero ? kAxis : kGrid);
                c.text(x - 0.5f * Canvas::text_width(label, kTickScale), f.y0 + f.size + 6, label,
                       kText, kTickScale);
            } else {
                const float y = std::round(f.py(v)) - 0.5f;
                c.line(f.x0, y, f.x0 + f.size, y, zero ? kAxis : kGrid);
                c.text(f.x0 - 6 - Canvas::text_width(label, kTickScale), y - 3, label, kText,
                       kTickScale);
            }
        }
    };
    draw(f.lim.xmin, f.lim.xmax, true);
    draw(f.lim.ymin, f.lim.ymax, false);
    c.rect_outline(f.x0 - 1, f.y0 - 1, f.size + 2, f.size + 2, kFrame);
}

// A legend box in the top-left corner of the frame: one entry per
// (colour, label) with a non-empty label.
void draw_legend(Canvas& c, const Frame& f, const std::vector<std::pair<Rgb, std::string>>& items) {
    std::vector<std::pair<Rgb, std::string>> shown;
    for (const auto& it : items)
        if (!it.second.empty()) shown.push_back(it);
    if (shown.empty()) return;
    const float line_h = 14, pad = 6;
    float w = 0;
    for (const auto& it : shown) w = std::max(w, Canvas::text_width(it.second, kTickScale));
    const float bw = w + 22 + pad, bh = line_h * float(shown.size()) + pad;
    c.rect(f.x0 + 6, f.y0 + 6, bw, bh, colors::white, 0.85f);
    c.rect_outline(f.x0 + 6, f.y0 + 6, bw, bh, kAxis);
    for (std::size_t i = 0; i < shown.size(); ++i) {
        const float y = f.y0 + 6 + pad / 2 + line_h * float(i);
        c.disc(f.x0 + 6 + pad + 4, y + line_h / 2, 4, shown[i].first);
        c.text(f.x0 + 6 + pad + 14, y + 3, shown[i].second, kText, kTickScale);
    }
}

}  // namespace

Canvas draw_scatter_panels(const std::vector<Panel>& panels, const ScatterOptions& opts) {
    AM_CHECK(!panels.empty(), "scatter_panels: no panels");
    std::vector<const Mat<float>*> sets;
    for (const auto& p : panels)
        for (const auto& l : p.layers) {
            AM_CHECK(cols(l.points) == 2, "scatter_panels: panel \"" + p.title +
                                              "\": points must be (N, 2), got " +
                                              shape_str(l.points));
            sets.push_back(&l.points);
        }
    const Limits lim = opts.limits ? *opts.limits : square_limits(sets);
    check_limits(lim, "scatter_panels");
    const int s = opts.panel_size;
    const int top = kTop + (opts.title.empty() ? 0 : kTitleH);
    const int n = int(panels.size());
    Canvas c(n * (kLeft + s + kRight), top + kTitleH + s + kBottom);
    draw_title(c, 0.5f * float(c.width()), kTop, float(c.width()), opts.title);

    for (int k = 0; k < n; ++k) {
        const Frame f{float(k * (kLeft + s + kRight) + kLeft), float(top + kTitleH), float(s), lim};
        draw_axes(c, f);
        c.set_clip(int(f.x0), int(f.y0), int(f.x0) + s, int(f.y0) + s);
        std::vector<std::pair<Rgb, std::string>> legend;
        for (const auto& l : panels[k].layers) {
            for (Index i = 0; i < rows(l.points); ++i) {
                const float x = l.points(i, 0), y = l.points(i, 1);
                if (std::isfinite(x) && std::isfinite(y))
                    c.disc(f.px(x), f.py(y), l.radius, l.color, l.alpha);
            }
            legend.emplace_back(l.color, l.label);
        }
        draw_legend(c, f, legend);
        c.reset_clip();
        draw_title(c, f.x0 + 0.5f * float(s), float(top + 4), float(s + kLeft), panels[k].title);
    }
    return c;
}

void scatter_panels(const std::string& path, const std::vector<Panel>& panels,
                    const ScatterOptions& opts) {
    draw_scatter_panels(panels, opts).save_png(path);
}

Canvas draw_trajectories(const std::vector<Mat<float>>& states, const TrajectoryOptions& opts) {
    AM_CHECK(states.size() >= 2, "trajectory_plot: need at least 2 states, got " +
                                     std::to_string(states.size()));
    const Index n = std::min(rows(states[0]), opts.max_trajectories);
    for (std::size_t k = 0; k < states.size(); ++k)
        AM_CHECK(cols(states[k]) == 2 && rows(states[k]) == rows(states[0]),
                 "trajectory_plot: state " + std::to_string(k) + " is " + shape_str(states[k]) +
                     ", expected " + shape_str(states[0]) + " with 2 columns");
    Limits lim;
    if (opts.limits) {
        lim = *opts.limits;
    } else {  // around the drawn trajectories only
        std::vector<Mat<float>> drawn;
        for (const auto& s : states) drawn.push_back(xt::view(s, xt::range(0, n), xt::all()));
        std::vector<const Mat<float>*> ptrs;
        for (const auto& d : drawn) ptrs.push_back(&d);
        lim = square_limits(ptrs);
    }
    check_limits(lim, "trajectory_plot");

    const int s = opts.size, bar_h = 10, bar_gap = 26;
    const int top = kTop + kTitleH;
    Canvas c(kLeft + s + kRight, top + s + bar_gap + bar_h + 22);
    draw_title(c, kLeft + 0.5f * float(s), kTop, float(c.width()), opts.title);
    const Frame f{float(kLeft), float(top), float(s), lim};
    draw_axes(c, f);

    c.set_clip(kLeft, top, kLeft + s, top + s);
    const std::size_t K = states.size() - 1;
    for (Index i = 0; i < n; ++i)
        for (std::size_t k = 0; k < K; ++k) {
            const Rgb col = viridis(double(k) / double(K));
            c.line(f.px(states[k](i, 0)), f.py(states[k](i, 1)), f.px(states[k + 1](i, 0)),
                   f.py(states[k + 1](i, 1)), col, opts.line_alpha);
        }
    for (Index i = 0; i < n; ++i) {
        c.disc(f.px(states[0](i, 0)), f.py(states[0](i, 1)), 1.6f, colors::black, 0.8f);
        c.disc(f.px(states[K](i, 0)), f.py(states[K](i, 1)), 2.2f, colors::red, 0.9f);
    }
    draw_legend(c, f, {{colors::black, "start, t = 0"}, {colors::red, "end, t = 1"}});
    c.reset_clip();

    // Colour bar: time from 0 (left) to 1 (right).
    const float by = float(top + s + bar_gap);
    for (int x = 0; x < s; ++x) c.rect(float(kLeft + x), by, 1, float(bar_h), viridis(x / (s - 1.0)));
    const float ly = by + bar_h + 4;
    c.text(kLeft, ly, "t = 0", kText, kTickScale);
    c.text(kLeft + s - Canvas::text_width("t = 1", kTickScale), ly, "t = 1", kText, kTickScale);
    c.text(kLeft + 0.5f * (s - Canvas::text_width("time", kTickScale)), ly, "time", kText,
           kTickScale);
    return c;
}

void trajectory_plot(const std::string& path, const std::vector<Mat<float>>& states,
                     const TrajectoryOptions& opts) {
    draw_trajectories(states, opts).save_png(path);
}

Canvas draw_image_grid(const Mat<float>& images, int rows, int cols, int ncol,
                       const std::string& title, const ImageGridOptions& opts) {
    const Index n = am::rows(images);
    AM_CHECK(rows > 0 && cols > 0 && am::cols(images) == Index(rows) * cols && n > 0 &&
                 ncol > 0 && opts.scale > 0,
             "image_grid: images " + shape_str(images) + " are not n > 0 images of " +
                 std::to_string(rows) + " x " + std::to_string(cols) +
                 " (or ncol / scale is not positive)");
    const int gap = 2, tw = cols * opts.scale + gap, th = rows * opts.scale + gap;
    const int ncols = int(std::min<Index>(ncol, n));
    const int nrows = int((n + ncol - 1) / ncol);
    const int top = title.empty() ? gap : kTop + kTitleH;
    const int width = std::max(ncols * tw + gap, int(Canvas::text_width(title, kTitleScale)) + 8);
    Canvas c(width, top + nrows * th, colors::white);
    draw_title(c, 0.5f * float(width), kTop, float(width), title);
    const float x_off = 0.5f * float(width - (ncols * tw + gap)) + gap;

    for (Index i = 0; i < n; ++i) {
        const float x0 = x_off + float((i % ncol) * tw), y0 = float(top + (i / ncol) * th);
        for (int r = 0; r < rows; ++r)
            for (int q = 0; q < cols; ++q) {
                float v = images(i, Index(r) * cols + q);
                if (opts.signed_range) v = 0.5f * (v + 1.0f);
                v = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);
                const auto g = std::uint8_t(std::lround(255.0f * v));
                c.rect(x0 + float(q * opts.scale), y0 + float(r * opts.scale), float(opts.scale),
                       float(opts.scale), {g, g, g});
            }
    }
    return c;
}

void image_grid(const std::string& path, const Mat<float>& images, int rows, int cols, int ncol,
                const std::string& title, const ImageGridOptions& opts) {
    draw_image_grid(images, rows, cols, ncol, title, opts).save_png(path);
}

}  // namespace am::plot
