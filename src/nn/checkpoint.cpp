// Design: docs/design.md#networks
#include "nn/checkpoint.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <zlib.h>

#include "core/parse.hpp"
#include "data/file_io.hpp"

namespace am::nn {

namespace {

constexpr char kMagic[8] = {'A', 'M', 'F', 'L', 'O', 'W', 'C', 'K'};
constexpr std::uint32_t kVersion = 1;

// ---- writing into a byte buffer ---------------------------------------------------
struct Writer {
    std::string buf;
    void raw(const void* p, std::size_t n) { buf.append(static_cast<const char*>(p), n); }
    void u32(std::uint32_t v) { raw(&v, 4); }
    void u64(std::uint64_t v) { raw(&v, 8); }
    void str(const std::string& s) { u32(std::uint32_t(s.size())), raw(s.data(), s.size()); }
};

// ---- reading with bounds checks: a short file is reported, never read past ---------
struct Reader {
    const std::string& buf;
    std::size_t pos;
    const std::string& path;
    void raw(void* p, std::size_t n) {
        AM_CHECK(pos + n <= buf.size(), "checkpoint " + path + ": truncated (file ends at byte " +
                                            std::to_string(buf.size()) + ", needed " +
                                            std::to_string(pos + n) + ")");
        if (n == 0) return;  // an empty tensor: its data() may be null (found by fuzz_checkpoint)
        std::memcpy(p, buf.data() + pos, n);
        pos += n;
    }
    std::uint32_t u32() { std::uint32_t v; raw(&v, 4); return v; }
    std::uint64_t u64() { std::uint64_t v; raw(&v, 8); return v; }
    std::string str() {
        const std::uint32_t n = u32();
        AM_CHECK(n <= buf.size() - pos, "checkpoint " + path + ": truncated or corrupt string length");
        std::string s(buf.data() + pos, n);
        pos += n;
        return s;
    }
};

std::uint32_t crc_of(const char* p, std::size_t n) {
    return std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(p), uInt(n)));
}

}  // namespace

const std::string& Checkpoint::get(const std::string& key) const {
    auto it = meta.find(key);
    AM_CHECK(it != meta.end(), source + ": a checkpoint of kind '" + kind + "' without the entry '" + key + "'");
    return it->second;
}

long Checkpoint::get_int(const std::string& key) const {
    const std::string& s = get(key);
    const auto v = parse_long(s);
    AM_CHECK(v.has_value(), source + ": checkpoint entry '" + key + "' is not an integer: '" + s + "'");
    return *v;
}

void check_finite(const Checkpoint& ck, const std::string& where) {
    for (const auto& [name, t] : ck.tensors)
        for (std::size_t i = 0; i < t.size(); ++i)
            if (!std::isfinite(t.data()[i]))
                throw Error(where + ": tensor '" + name + "' " + shape_str(t) + " entry " + std::to_string(i) +
                            " is " + format_number(t.data()[i]) + " (the weights are not finite: a diverged run)");
}

std::string checkpoint_bytes(const Checkpoint& ck, const std::string& path) {
    check_finite(ck, "checkpoint " + path + " not written");
    Writer w;
    w.raw(kMagic, 8);
    w.u32(kVersion);
    w.str(ck.kind);
    w.u32(std::uint32_t(ck.meta.size()));
    for (const auto& [k, v] : ck.meta) w.str(k), w.str(v);
    w.u32(std::uint32_t(ck.tensors.size()));
    for (const auto& [name, t] : ck.tensors) {
        w.str(name);
        w.u64(std::uint64_t(rows(t)));
        w.u64(std::uint64_t(cols(t)));
        w.raw(t.data(), t.size() * sizeof(float));
    }
    w.u32(crc_of(w.buf.data(), w.buf.size()));
    return std::move(w.buf);
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
    data::write_file_atomic(path, checkpoint_bytes(ck, path));
}

Checkpoint load_checkpoint(const std::string& path) { return parse_checkpoint(data::read_file(path), path); }

Checkpoint parse_checkpoint(const std::string& buf, const std::string& path) {
    Reader r{buf, 0, path};
    char magic[8];
    r.raw(magic, 8);
    AM_CHECK(std::memcmp(magic, kMagic, 8) == 0,
             "checkpoint " + path + ": wrong magic header (not an amflow checkpoint)");
    const std::uint32_t version = r.u32();
    AM_CHECK(version == kVersion, "checkpoint " + path + ": version " + std::to_string(version) +
                                      ", this program reads version " + std::to_string(kVersion));
    Checkpoint ck;
    ck.source = path;
    ck.kind = r.str();
    const std::uint32_t nmeta = r.u32();
    for (std::uint32_t i = 0; i < nmeta; ++i) {
        std::string k = r.str();
        ck.meta[k] = r.str();
    }
    const std::uint32_t nt = r.u32();
    for (std::uint32_t i = 0; i < nt; ++i) {
        std::string name = r.str();
        const std::uint64_t R = r.u64(), C = r.u64();
        AM_CHECK(R < (1u << 31) && C < (1u << 31) && R * C * 4 <= buf.size() - r.pos,
                 "checkpoint " + path + ": truncated or corrupt: tensor '" + name + "' claims " + std::to_string(R) + " x " +
                     std::to_string(C) + " floats at byte " + std::to_string(r.pos) + ", more than the file holds");
        Mat<float> t = zeros<float>(Index(R), Index(C));
        r.raw(t.data(), t.size() * sizeof(float));
        ck.tensors.emplace_back(std::move(name), std::move(t));
    }
    const std::size_t body = r.pos;
    const std::uint32_t crc = r.u32();
    AM_CHECK(crc == crc_of(buf.data(), body), "checkpoint " + path + ": checksum mismatch (corrupt file)");
    AM_CHECK(r.pos == buf.size(), "checkpoint " + path + ": unexpected bytes after the end");
    check_finite(ck, "checkpoint " + path);
    return ck;
}


namespace {
// "784,256,10" -> {784, 256, 10}, each in [1, 2^31).
std::vector<Index> split_sizes(const Checkpoint& ck, const std::string& s) {
    std::vector<Index> out;
    for (const auto& item : split(s, ',')) {
        const auto v = parse_long(item);
        AM_CHECK(v && *v > 0 && *v < (1L << 31), ck.source + ": bad layer sizes '" + s + "' in the checkpoint");
        out.push_back(Index(*v));
    }
    return out;
}
}  // namespace

std::vector<Index> checkpoint_layer_sizes(const Checkpoint& ck) {
    const std::size_t layers = ck.tensors.size() / 2;  // (W, b) per layer
    std::vector<Index> sizes;
    if (ck.kind == "mlp") {
        AM_CHECK(ck.get("sizes").size() <= 24 * (layers + 1), ck.source + ": the 'sizes' entry lists more layers than "
                                                                        "the checkpoint has tensors");
        sizes = split_sizes(ck, ck.get("sizes"));
    } else if (ck.kind == "velocity_mlp") {
        const long d = ck.get_int("dim"), width = ck.get_int("width"), depth = ck.get_int("depth");
        AM_CHECK(d > 0 && d < (1L << 31) && width > 0 && width < (1L << 31) && depth > 0 &&
                     std::size_t(depth) + 1 == layers,
                 ck.source + ": a velocity_mlp with dim " + std::to_string(d) + ", width " + std::to_string(width) +
                     ", depth " + std::to_string(depth) + " needs " + std::to_string(2 * (depth + 1)) +
                     " tensors, the checkpoint has " + std::to_string(ck.tensors.size()));
        const long features = ck.meta.count("time_features") ? ck.get_int("time_features") : 0;
        AM_CHECK(features >= 0 && features <= kMaxTimeFeatures,
                 ck.source + ": time_features must be in 0.." + std::to_string(kMaxTimeFeatures) + ", got " +
                     std::to_string(features));
        sizes.push_back(Index(d + 1 + 2 * features));
        for (long i = 0; i < depth; ++i) sizes.push_back(Index(width));
        sizes.push_back(Index(d));
    } else {
        throw Error(ck.source + ": a checkpoint of kind '" + ck.kind + "', expected 'mlp' or 'velocity_mlp'");
    }
    AM_CHECK(sizes.size() >= 2 && ck.tensors.size() == 2 * (sizes.size() - 1),
             ck.source + ": layer sizes for " + std::to_string(sizes.size() - 1) + " layers, the checkpoint has " +
                 std::to_string(ck.tensors.size()) + " tensors");
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
        const Mat<float>& w = ck.tensors[2 * l].second;
        const Mat<float>& b = ck.tensors[2 * l + 1].second;
        AM_CHECK(rows(w) == sizes[l] && cols(w) == sizes[l + 1] && rows(b) == 1 && cols(b) == sizes[l + 1],
                 ck.source + ": layer " + std::to_string(l) + " should be " + std::to_string(sizes[l]) + " -> " +
                     std::to_string(sizes[l + 1]) + ", its tensors are " + shape_str(w) + " and " + shape_str(b));
    }
    return sizes;
}

}  // namespace am::nn
