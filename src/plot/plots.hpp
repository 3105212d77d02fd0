// The pictures of the project, drawn on a Canvas (png.hpp):
//  - scatter panels: "data vs samples", "base / exact target / method A / B";
//  - trajectories of a sampler, coloured by time;
//  - a grid of images (MNIST digits).
// Each picture has a draw_* function returning the Canvas (for a notebook:
// encode_png(draw_...(...))) and a function writing it to a PNG file.
// Design: docs/design.md#pictures
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "plot/png.hpp"

namespace am::plot {

// Axis limits of a 2-D plot, in data units.
struct Limits {
    double xmin = -6, xmax = 6, ymin = -6, ymax = 6;
};

// One set of points of a scatter panel.
struct Layer {
    Mat<float> points;  // (N, 2); non-finite points are skipped
    Rgb color = colors::blue;
    float alpha = 0.35f;   // opacity of each point
    float radius = 1.5f;   // in pixels
    std::string label{};   // legend entry; no legend entry when empty
};

struct Panel {
    std::string title;
    std::vector<Layer> layers;  // drawn in order: the last one on top
};

struct ScatterOptions {
    int panel_size = 360;          // side of each square plot area, pixels
    std::optional<Limits> limits;  // common to all panels; default: a square around all points
    std::string title;             // above all panels; none when empty
};

// Panels side by side with common, equal-aspect axis limits, a light grid
// with tick labels, each panel's title above it and a legend of the
// labelled layers in its top-left corner.
Canvas draw_scatter_panels(const std::vector<Panel>& panels, const ScatterOptions& opts = {});
void scatter_panels(const std::string& path, const std::vector<Panel>& panels,
                    const ScatterOptions& opts = {});

struct TrajectoryOptions {
    int size = 480;                 // side of the square plot area, pixels
    Index max_trajectories = 200;   // the first ones are drawn
    std::optional<Limits> limits;   // default: a square around the drawn trajectories
    std::string title;
    float line_alpha = 0.5f;
};

// states: K + 1 arrays (N, 2), X at t_0 = 0, ..., t_K = 1 (same N). Each
// trajectory is a thin polyline coloured by time (viridis, t = 0 dark blue,
// t = 1 yellow), its start marked black and its end red; a colour bar below.
Canvas draw_trajectories(const std::vector<Mat<float>>& states, const TrajectoryOptions& opts = {});
void trajectory_plot(const std::string& path, const std::vector<Mat<float>>& states,
                     const TrajectoryOptions& opts = {});

struct ImageGridOptions {
    bool signed_range = false;  // pixel values in [-1, 1] instead of [0, 1]
    int scale = 2;              // each image pixel becomes scale x scale
};

// images: (n, rows * cols), row-major images, shown grey-scale (0 black,
// 1 white; values outside the range are clamped), ncol per row of the grid,
// the title above.
Canvas draw_image_grid(const Mat<float>& images, int rows, int cols, int ncol,
                       const std::string& title, const ImageGridOptions& opts = {});
void image_grid(const std::string& path, const Mat<float>& images, int rows, int cols, int ncol,
                const std::string& title, const ImageGridOptions& opts = {});

}  // namespace am::plot
