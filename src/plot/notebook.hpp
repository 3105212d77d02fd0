// Pictures in xeus-cling notebooks. xeus-cling shows any object x passed to
// xcpp::display(x) for which a function mime_bundle_repr(x) returning a JSON
// object of {mime type: data} is found by argument-dependent lookup; here a
// PNG file (written by the plots of plot/plots.hpp) becomes {"image/png":
// base64 of its bytes}.
//
//   am::plot::scatter_panels("samples.png", panels);
//   xcpp::display(am::plot::PngImage::from_file("samples.png"));
// Design: docs/design.md#pictures
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.hpp"

namespace am::plot {

struct PngImage {
    std::string bytes;  // the whole PNG file

    static PngImage from_file(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        AM_CHECK(bool(in), "PngImage: cannot open '" + path + "'");
        PngImage img{std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
        AM_CHECK(img.bytes.size() >= 8 && img.bytes.compare(1, 3, "PNG") == 0,
                 "PngImage: '" + path + "' is not a PNG file");
        return img;
    }
};

// RFC 4648 base64 with padding.
inline std::string base64(const std::string& in) {
    static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
    }
    if (i + 1 == in.size()) {
        const unsigned v = (unsigned char)in[i] << 16;
        out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
    }
    return out;
}

inline nlohmann::json mime_bundle_repr(const PngImage& img) {
    nlohmann::json bundle;
    bundle["image/png"] = base64(img.bytes);
    return bundle;
}

}  // namespace am::plot
