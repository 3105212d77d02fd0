// A small RGB raster: the drawing surface of every picture of the project.
// PNG encoding is stb_image_write's, text is stb_easy_font's bitmap font;
// the rest (alpha blending, anti-aliased discs and lines) is below.
//
// Coordinates are in pixels, x to the right, y downwards; pixel (i, j) covers
// [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5).
// Design: docs/design.md#pictures
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace am::plot {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
};

// A few named colours for the plots.
namespace colors {
constexpr Rgb white{255, 255, 255}, black{0, 0, 0}, grey{128, 128, 128},
    light_grey{225, 225, 225}, blue{31, 119, 180}, orange{255, 127, 14}, green{44, 160, 44},
    red{214, 39, 40}, purple{148, 103, 189};
}  // namespace colors

// The colour at s in [0, 1] of the viridis colour map (dark blue -> yellow),
// linearly interpolated between 9 anchors.
Rgb viridis(double s);

class Canvas {
public:
    Canvas(int width, int height, Rgb background = colors::white);

    int width() const { return width_; }
    int height() const { return height_; }
    // The pixels, row major, 3 bytes (r, g, b) per pixel: (height, width, 3).
    const std::vector<std::uint8_t>& pixels() const { return rgb_; }
    Rgb pixel(int x, int y) const;

    void fill(Rgb color);

    // Drawing is restricted to [x0, x1) x [y0, y1) until reset_clip().
    void set_clip(int x0, int y0, int x1, int y1);
    void reset_clip();

    // pixel <- (1 - alpha) pixel + alpha color, inside the clip rectangle.
    void blend(int x, int y, Rgb color, float alpha);

    // A filled disc, anti-aliased at its edge.
    void disc(float cx, float cy, float radius, Rgb color, float alpha = 1.0f);
    // A segment of the given width, anti-aliased; each pixel is blended once.
    void line(float x0, float y0, float x1, float y1, Rgb color, float alpha = 1.0f,
              float width = 1.0f);
    // A filled rectangle [x, x + w) x [y, y + h), and its 1-pixel outline.
    void rect(float x, float y, float w, float h, Rgb color, float alpha = 1.0f);
    void rect_outline(float x, float y, float w, float h, Rgb color, float alpha = 1.0f);

    // Text with stb_easy_font (printable ASCII; '\n' starts a new line); the
    // top-left corner of the text at (x, y); each font pixel is scale x scale.
    void text(float x, float y, const std::string& s, Rgb color, float scale = 1.0f);
    // Size in pixels of text(..., scale).
    static float text_width(const std::string& s, float scale = 1.0f);
    static float text_height(const std::string& s, float scale = 1.0f);

    // Writes the PNG file atomically (PATH.tmp, then rename).
    void save_png(const std::string& path) const;

private:
    int width_, height_;
    int clip_x0_, clip_y0_, clip_x1_, clip_y1_;
    std::vector<std::uint8_t> rgb_;
};

// The PNG file's bytes, in memory: what a notebook display hook (xeus-cling
// mime_bundle_repr, "image/png" base64) shows.
std::vector<unsigned char> encode_png(const Canvas& canvas);

}  // namespace am::plot
