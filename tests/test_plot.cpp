// plot: the canvas primitives, PNG encoding (decoded back with stb_image)
// and the three pictures: scatter panels, trajectories, image grids.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "core/random.hpp"
#include "plot/notebook.hpp"
#include "plot/plots.hpp"
#include "test_support.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

using namespace am;
using namespace am::testing;
using namespace am::plot;
namespace fs = std::filesystem;

namespace {

// A decoded PNG file: width, height and RGB bytes.
struct Decoded {
    int w = 0, h = 0;
    std::vector<unsigned char> rgb;
};
Decoded decode_png_file(const std::string& path) {
    Decoded d;
    int channels = 0;
    unsigned char* p = stbi_load(path.c_str(), &d.w, &d.h, &channels, 3);
    REQUIRE_MESSAGE(p != nullptr, "stb_image could not decode " << path);
    d.rgb.assign(p, p + std::size_t(d.w) * d.h * 3);
    stbi_image_free(p);
    return d;
}

bool same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

// The bounding box [x0, x1] x [y0, y1] of the pixels where a and b differ.
struct Box {
    int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
    bool empty() const { return x1 < 0; }
};
Box diff_box(const Canvas& a, const Canvas& b) {
    Box box;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            if (!same(a.pixel(x, y), b.pixel(x, y))) {
                box.x0 = std::min(box.x0, x), box.x1 = std::max(box.x1, x);
                box.y0 = std::min(box.y0, y), box.y1 = std::max(box.y1, y);
            }
    return box;
}

}  // namespace

TEST_CASE("plot: canvas primitives draw where they should") {
    Canvas c(40, 30, colors::white);
    c.disc(10.5f, 10.5f, 3, colors::red);
    CHECK(same(c.pixel(10, 10), colors::red));
    CHECK(same(c.pixel(30, 25), colors::white));
    c.line(0, 25.5f, 40, 25.5f, colors::black);
    CHECK(same(c.pixel(20, 25), colors::black));
    CHECK(same(c.pixel(20, 27), colors::white));

    Canvas half(4, 4, colors::white);
    half.blend(1, 1, colors::black, 0.5f);
    CHECK(half.pixel(1, 1).r == 128);  // (1 - 0.5) 255 + 0.5 * 0, rounded

    Canvas clipped(20, 20, colors::white);
    clipped.set_clip(0, 0, 10, 20);
    clipped.rect(0, 0, 20, 20, colors::blue);
    CHECK(same(clipped.pixel(9, 5), colors::blue));
    CHECK(same(clipped.pixel(10, 5), colors::white));

    Canvas text(60, 20, colors::white);
    text.text(2, 2, "Ab1", colors::black, 2);
    CHECK_FALSE(diff_box(text, Canvas(60, 20, colors::white)).empty());
    CHECK(Canvas::text_width("Ab1", 2) == 2 * Canvas::text_width("Ab1"));
    text.text(2, 2, "\xc3\xa9\t", colors::black);  // non-ASCII: drawn as '?', no crash

    CHECK(same(viridis(0), Rgb{68, 1, 84}));
    CHECK(same(viridis(1), Rgb{253, 231, 37}));
}

TEST_CASE("plot: PNG encoding is lossless and the file is written atomically") {
    TempDir dir;
    Canvas c(23, 17, Rgb{10, 20, 30});
    c.disc(5, 5, 4, colors::orange, 0.7f);
    c.text(1, 8, "x", colors::white);
    const auto bytes = encode_png(c);
    REQUIRE(bytes.size() > 8);
    CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "\x89PNG\r\n\x1a\n");

    c.save_png(dir / "c.png");
    CHECK_FALSE(fs::exists(dir / "c.png.tmp"));
    const Decoded d = decode_png_file(dir / "c.png");
    CHECK(d.w == 23);
    CHECK(d.h == 17);
    CHECK(d.rgb == c.pixels());
}

TEST_CASE("plot: scatter panels: size, points drawn inside their panel, common limits") {
    TempDir dir;
    Rng rng(0);
    const Limits lim{-6, 6, -6, 6};
    Mat<float> one = zeros<float>(1, 2);
    one(0, 0) = 3;
    one(0, 1) = -3;
    const auto make = [&](bool with_point) {
        ScatterOptions opts;
        opts.panel_size = 200;
        opts.limits = lim;
        Layer layer{with_point ? one : zeros<float>(0, 2), colors::blue, 1.0f, 4.0f, ""};
        return draw_scatter_panels({{"left", {layer}}, {"right", {}}}, opts);
    };
    const Canvas without = make(false), with = make(true);
    const Box box = diff_box(with, without);
    REQUIRE_FALSE(box.empty());
    CHECK(box.x1 - box.x0 <= 10);          // one disc of radius 4
    CHECK(box.x1 < with.width() / 2);      // in the left panel
    CHECK(box.y0 > with.height() / 2);     // y = -3: below the middle (y axis up)
    CHECK(box.x0 > with.width() / 4);      // x = 3: right of the panel's middle

    Panel data{"data", {{rng.normal<float>(500, 2), colors::blue, 0.4f, 2.0f, "data"}}};
    Panel samples{"samples", {{rng.normal<float>(500, 2), colors::orange, 0.4f, 2.0f, "samples"}}};
    ScatterOptions opts;
    opts.title = "data vs samples";
    scatter_panels(dir / "s.png", {data, samples}, opts);
    const Decoded d = decode_png_file(dir / "s.png");
    const Canvas drawn = draw_scatter_panels({data, samples}, opts);
    CHECK(d.w == drawn.width());
    CHECK(d.h == drawn.height());
    CHECK(d.rgb == drawn.pixels());

    // Diverged samples (NaN, inf, far off the axes) are skipped or clipped.
    Mat<float> wild = zeros<float>(4, 2);
    wild(0, 0) = std::nanf("");
    wild(1, 1) = std::numeric_limits<float>::infinity();
    wild(2, 0) = 1e30f;
    wild(3, 1) = -1e30f;
    const Canvas calm = draw_scatter_panels({{"wild", {{wild, colors::red, 1.0f, 3.0f, ""}}}},
                                            ScatterOptions{200, lim, ""});
    CHECK(diff_box(calm, draw_scatter_panels({{"wild", {}}}, ScatterOptions{200, lim, ""}))
              .empty());
    std::vector<Mat<float>> wild_states = {wild, zeros<float>(4, 2)};
    CHECK(draw_trajectories(wild_states).width() > 0);

    CHECK_THROWS_WITH_AS(draw_scatter_panels({{"flat", {}}}, ScatterOptions{200, Limits{1, 1, 0, 1}, ""}),
                         doctest::Contains("axis limits must be finite with min < max"), Error);

    Layer layer;
    layer.points = zeros<float>(3, 3);
    Panel bad{"bad", {layer}};
    CHECK_THROWS_WITH_AS(draw_scatter_panels({bad}),
                         doctest::Contains("panel \"bad\": points must be (N, 2), got (3, 3)"),
                         Error);
}

TEST_CASE("plot: trajectories and image grids") {
    TempDir dir;
    Rng rng(1);
    const Mat<float> x0 = rng.normal<float>(300, 2), x1 = rng.normal<float>(300, 2) + 3.0f;
    std::vector<Mat<float>> states;
    for (int k = 0; k <= 10; ++k) states.push_back((1.0f - k / 10.0f) * x0 + (k / 10.0f) * x1);
    TrajectoryOptions topts;
    topts.size = 240;
    trajectory_plot(dir / "t.png", states, topts);
    const Canvas t = draw_trajectories(states, topts);
    const Decoded dt = decode_png_file(dir / "t.png");
    CHECK(dt.w == t.width());
    CHECK(dt.rgb == t.pixels());
    CHECK_THROWS_AS(draw_trajectories({x0}), Error);

    Mat<float> images = zeros<float>(7, 4 * 5);  // 7 images of 4 x 5
    images(6, 19) = 1.0f;                        // bottom-right pixel of the last one
    const Canvas g = draw_image_grid(images, 4, 5, 3, "", ImageGridOptions{false, 2});
    CHECK(g.width() == 3 * (5 * 2 + 2) + 2);
    CHECK(g.height() == 2 + 3 * (4 * 2 + 2));
    // Last image: column 0, row 2; its pixel (3, 4) covers 2 x 2 canvas pixels.
    const int x = 2 + 0 * 12 + 4 * 2, y = 2 + 2 * 10 + 3 * 2;
    CHECK(same(g.pixel(x, y), colors::white));
    CHECK(same(g.pixel(x + 1, y + 1), colors::white));
    CHECK(same(g.pixel(x - 1, y), colors::black));

    const Canvas s = draw_image_grid(images - 1.0f, 4, 5, 3, "", ImageGridOptions{true, 2});
    CHECK(same(s.pixel(x, y), Rgb{128, 128, 128}));  // 0 in [-1, 1] is mid grey
    image_grid(dir / "g.png", images, 4, 5, 3, "digits");
    CHECK(decode_png_file(dir / "g.png").w > 0);
}

TEST_CASE("plot: notebook display hook, base64 (RFC 4648 vectors) and the image/png bundle") {
    CHECK(am::plot::base64("") == "");
    CHECK(am::plot::base64("f") == "Zg==");
    CHECK(am::plot::base64("fo") == "Zm8=");
    CHECK(am::plot::base64("foo") == "Zm9v");
    CHECK(am::plot::base64("foob") == "Zm9vYg==");
    CHECK(am::plot::base64("foobar") == "Zm9vYmFy");
    CHECK(am::plot::base64(std::string("\xff\x00\x80", 3)) == "/wCA");
    const std::string path = (std::filesystem::temp_directory_path() / "amflow-test-notebook.png").string();
    am::plot::scatter_panels(path, {{"one", {am::plot::Layer{am::Mat<float>{{0.0f, 0.0f}, {1.0f, 1.0f}}}}}});
    const auto img = am::plot::PngImage::from_file(path);
    const auto bundle = am::plot::mime_bundle_repr(img);
    CHECK(bundle["image/png"].get<std::string>() == am::plot::base64(img.bytes));
    CHECK(bundle["image/png"].get<std::string>().rfind("iVBORw0KGgo", 0) == 0);  // base64 of the PNG signature
    std::ofstream(path) << "not a png";
    CHECK_THROWS_AS(am::plot::PngImage::from_file(path), am::Error);
}
