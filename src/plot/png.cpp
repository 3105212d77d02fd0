// Design: docs/design.md#pictures
#include "plot/png.hpp"

#include <algorithm>
#include <cmath>

#include "core/tensor.hpp"
#include "data/file_io.hpp"

// stb's single-file libraries: the implementation is compiled here, with
// static linkage (no clash with any other copy), their warnings silenced.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace am::plot {

namespace {
// stb_easy_font indexes its glyph table by c - 32 with no check: keep
// printable ASCII and newlines, replace anything else by '?'.
std::string printable(const std::string& s) {
    std::string out = s;
    for (char& c : out)
        if (c != '\n' && (c < 32 || c > 126)) c = '?';
    return out;
}

// floor(v) or ceil(v) limited to [lo, hi], NaN -> lo: converting a huge
// float (a diverged sample far off the canvas) to int directly is undefined.
int floor_in(float v, int lo, int hi) {
    return !(v > float(lo)) ? lo : v >= float(hi) ? hi : int(std::floor(v));
}
int ceil_in(float v, int lo, int hi) {
    return !(v > float(lo)) ? lo : v >= float(hi) ? hi : int(std::ceil(v));
}
}  // namespace

Rgb viridis(double s) {
    static const Rgb anchors[] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                  {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                  {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
    const double u = std::clamp(s, 0.0, 1.0) * 8.0;
    const int i = std::min(int(u), 7);
    const double f = u - i;
    const auto mix = [f](std::uint8_t a, std::uint8_t b) {
        return std::uint8_t(std::lround((1 - f) * a + f * b));
    };
    return {mix(anchors[i].r, anchors[i + 1].r), mix(anchors[i].g, anchors[i + 1].g),
            mix(anchors[i].b, anchors[i + 1].b)};
}

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
    AM_CHECK(width > 0 && height > 0 && width <= 1 << 14 && height <= 1 << 14,
             "Canvas: size " + std::to_string(width) + " x " + std::to_string(height) +
                 " is not in 1..16384");
    rgb_.resize(std::size_t(width) * height * 3);
    fill(background);
    reset_clip();
}

Rgb Canvas::pixel(int x, int y) const {
    AM_CHECK(x >= 0 && x < width_ && y >= 0 && y < height_,
             "Canvas::pixel: (" + std::to_string(x) + ", " + std::to_string(y) +
                 ") is outside the canvas");
    const std::uint8_t* p = &rgb_[(std::size_t(y) * width_ + x) * 3];
    return {p[0], p[1], p[2]};
}

void Canvas::fill(Rgb color) {
    for (std::size_t i = 0; i < rgb_.size(); i += 3) {
        rgb_[i] = color.r;
        rgb_[i + 1] = color.g;
        rgb_[i + 2] = color.b;
    }
}

void Canvas::set_clip(int x0, int y0, int x1, int y1) {
    clip_x0_ = std::max(x0, 0);
    clip_y0_ = std::max(y0, 0);
    clip_x1_ = std::min(x1, width_);
    clip_y1_ = std::min(y1, height_);
}

void Canvas::reset_clip() { set_clip(0, 0, width_, height_); }

void Canvas::blend(int x, int y, Rgb color, float alpha) {
    if (x < clip_x0_ || x >= clip_x1_ || y < clip_y0_ || y >= clip_y1_ || !(alpha > 0)) return;
    const float a = std::min(alpha, 1.0f);
    std::uint8_t* p = &rgb_[(std::size_t(y) * width_ + x) * 3];
    const auto mix = [a](std::uint8_t old, std::uint8_t c) {
        return std::uint8_t(std::lround((1 - a) * old + a * c));
    };
    p[0] = mix(p[0], color.r);
    p[1] = mix(p[1], color.g);
    p[2] = mix(p[2], color.b);
}

void Canvas::disc(float cx, float cy, float radius, Rgb color, float alpha) {
    if (!std::isfinite(cx) || !std::isfinite(cy)) return;
    const int x0 = floor_in(cx - radius - 1, clip_x0_, clip_x1_);
    const int x1 = ceil_in(cx + radius + 1, clip_x0_, clip_x1_);
    const int y0 = floor_in(cy - radius - 1, clip_y0_, clip_y1_);
    const int y1 = ceil_in(cy + radius + 1, clip_y0_, clip_y1_);
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            const float d = std::hypot(x + 0.5f - cx, y + 0.5f - cy);
            const float coverage = std::clamp(radius + 0.5f - d, 0.0f, 1.0f);
            blend(x, y, color, alpha * coverage);
        }
}

void Canvas::line(float x0, float y0, float x1, float y1, Rgb color, float alpha, float width) {
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1))
        return;
    const float half = 0.5f * width;
    const float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    const int bx0 = floor_in(std::min(x0, x1) - half - 1, clip_x0_, clip_x1_);
    const int bx1 = ceil_in(std::max(x0, x1) + half + 1, clip_x0_, clip_x1_);
    const int by0 = floor_in(std::min(y0, y1) - half - 1, clip_y0_, clip_y1_);
    const int by1 = ceil_in(std::max(y0, y1) + half + 1, clip_y0_, clip_y1_);
    for (int y = by0; y < by1; ++y)
        for (int x = bx0; x < bx1; ++x) {
            // Distance from the pixel centre to the segment.
            const float px = x + 0.5f - x0, py = y + 0.5f - y0;
            const float t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0f, 1.0f) : 0.0f;
            const float d = std::hypot(px - t * dx, py - t * dy);
            const float coverage = std::clamp(half + 0.5f - d, 0.0f, 1.0f);
            blend(x, y, color, alpha * coverage);
        }
}

void Canvas::rect(float x, float y, float w, float h, Rgb color, float alpha) {
    // The pixels whose centres lie inside the rectangle.
    const int x0 = ceil_in(x - 0.5f, clip_x0_, clip_x1_);
    const int x1 = ceil_in(x + w - 0.5f, clip_x0_, clip_x1_);
    const int y0 = ceil_in(y - 0.5f, clip_y0_, clip_y1_);
    const int y1 = ceil_in(y + h - 0.5f, clip_y0_, clip_y1_);
    for (int py = y0; py < y1; ++py)
        for (int px = x0; px < x1; ++px) blend(px, py, color, alpha);
}

void Canvas::rect_outline(float x, float y, float w, float h, Rgb color, float alpha) {
    rect(x, y, w, 1, color, alpha);
    rect(x, y + h - 1, w, 1, color, alpha);
    rect(x, y + 1, 1, h - 2, color, alpha);
    rect(x + w - 1, y + 1, 1, h - 2, color, alpha);
}

void Canvas::text(float x, float y, const std::string& s, Rgb color, float scale) {
    // stb_easy_font emits axis-aligned quads (4 vertices of x, y, z floats
    // and 4 colour bytes) in font pixels; about 270 bytes per character.
    struct Vertex {
        float x, y, z;
        unsigned char rgba[4];
    };
    std::vector<Vertex> quads(s.size() * 64 + 4);
    std::string copy = printable(s);  // stb_easy_font takes a non-const char*
    const int n = stb_easy_font_print(0, 0, copy.data(), nullptr, quads.data(),
                                      int(quads.size() * sizeof(Vertex)));
    for (int q = 0; q < n; ++q) {
        const Vertex& a = quads[std::size_t(q) * 4];
        const Vertex& c = quads[std::size_t(q) * 4 + 2];  // the opposite corner
        rect(x + scale * a.x, y + scale * a.y, scale * (c.x - a.x), scale * (c.y - a.y), color);
    }
}

float Canvas::text_width(const std::string& s, float scale) {
    std::string copy = printable(s);
    return scale * float(stb_easy_font_width(copy.data()));
}

float Canvas::text_height(const std::string& s, float scale) {
    std::string copy = printable(s);
    return scale * float(stb_easy_font_height(copy.data()));
}

void Canvas::save_png(const std::string& path) const {
    const auto bytes = encode_png(*this);
    data::write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

std::vector<unsigned char> encode_png(const Canvas& canvas) {
    std::vector<unsigned char> out;
    const auto append = [](void* context, void* data, int size) {
        auto* bytes = static_cast<const unsigned char*>(data);
        static_cast<std::vector<unsigned char>*>(context)->insert(
            static_cast<std::vector<unsigned char>*>(context)->end(), bytes, bytes + size);
    };
    const int ok = stbi_write_png_to_func(append, &out, canvas.width(), canvas.height(), 3,
                                          canvas.pixels().data(), canvas.width() * 3);
    AM_CHECK(ok != 0 && !out.empty(), "encode_png: stb_image_write failed");
    return out;
}

}  // namespace am::plot
