// Design: docs/design.md#networks
#include "nn/checkpoint.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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
    AM_CHECK(it != meta.end(), "checkpoint of kind '" + kind + "' has no '" + key + "' entry");
    return it->second;
}

long Checkpoint::get_int(const std::string& key) const {
    const std::string& s = get(key);
    const auto v = parse_long(s);
    AM_CHECK(v.has_value(), "checkpoint entry '" + key + "' is not an integer: '" + s + "'");
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

Checkpoint load_checkpoint(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    AM_CHECK(f.good(), "checkpoint " + path + ": cannot open (missing file?)");
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string buf = ss.str();
    Reader r{buf, 0, path};
    char magic[8];
    r.raw(magic, 8);
    AM_CHECK(std::memcmp(magic, kMagic, 8) == 0,
             "checkpoint " + path + ": wrong magic header (not an amflow checkpoint)");
    const std::uint32_t version = r.u32();
    AM_CHECK(version == kVersion, "checkpoint " + path + ": version " + std::to_string(version) +
                                      ", this program reads version " + std::to_string(kVersion));
    Checkpoint ck;
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
        AM_CHECK(R < (1u << 31) && C < (1u << 31) && R * C * 4 <= buf.size(),
                 "checkpoint " + path + ": tensor '" + name + "' has an impossible shape (corrupt file)");
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

// ---- models ---------------------------------------------------------------------------

namespace {
template <class T>
void put_parameters(Checkpoint& ck, const std::vector<Var<T>>& ps) {
    for (std::size_t i = 0; i < ps.size(); ++i) {
        const std::string name = (i % 2 ? "b" : "W") + std::to_string(i / 2);
        ck.tensors.emplace_back(name, xt::cast<float>(ps[i].value()));
    }
}
std::string join_sizes(const std::vector<Index>& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
    return out;
}
std::vector<Index> split_sizes(const std::string& s) {
    std::vector<Index> out;
    for (const auto& item : split(s, ',')) {
        const auto v = parse_long(item);
        AM_CHECK(v && *v > 0, "checkpoint: bad layer sizes '" + s + "'");
        out.push_back(Index(*v));
    }
    return out;
}
}  // namespace

template <class T>
void load_parameters(const Checkpoint& ck, const std::vector<Var<T>>& params, const std::string& where) {
    AM_CHECK(ck.tensors.size() == params.size(),
             where + ": checkpoint has " + std::to_string(ck.tensors.size()) +
                 " tensors, the model has " + std::to_string(params.size()));
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& [name, t] = ck.tensors[i];
        AM_CHECK(t.shape() == params[i].value().shape(),
                 where + ": tensor '" + name + "' has shape " + shape_str(t) + ", the model expects " +
                     shape_str(params[i].value()));
        Var<T> p = params[i];
        p.value() = xt::cast<T>(t);
    }
}

template <class T>
Checkpoint to_checkpoint(const MLP<T>& m) {
    Checkpoint ck;
    ck.kind = "mlp";
    ck.meta["sizes"] = join_sizes(m.sizes());
    ck.meta["activation"] = activation_name(m.activation());
    put_parameters(ck, m.parameters());
    return ck;
}

template <class T>
Checkpoint to_checkpoint(const VelocityMLP<T>& m) {
    Checkpoint ck;
    ck.kind = "velocity_mlp";
    ck.meta["dim"] = std::to_string(m.dim());
    ck.meta["width"] = std::to_string(m.width());
    ck.meta["depth"] = std::to_string(m.depth());
    put_parameters(ck, m.parameters());
    return ck;
}

template <class T>
MLP<T> mlp_from_checkpoint(const Checkpoint& ck) {
    AM_CHECK(ck.kind == "mlp", "checkpoint holds a '" + ck.kind + "', expected an 'mlp'");
    Rng rng(0);
    MLP<T> m(split_sizes(ck.get("sizes")), parse_activation(ck.get("activation")), rng);
    load_parameters(ck, m.parameters(), "mlp checkpoint");
    return m;
}

template <class T>
VelocityMLP<T> velocity_mlp_from_checkpoint(const Checkpoint& ck) {
    AM_CHECK(ck.kind == "velocity_mlp", "checkpoint holds a '" + ck.kind + "', expected a 'velocity_mlp'");
    Rng rng(0);
    VelocityMLP<T> m(ck.get_int("dim"), ck.get_int("width"), ck.get_int("depth"), rng);
    load_parameters(ck, m.parameters(), "velocity_mlp checkpoint");
    return m;
}

#define AM_INSTANTIATE_CKPT(T)                                                                   \
    template Checkpoint to_checkpoint(const MLP<T>&);                                            \
    template Checkpoint to_checkpoint(const VelocityMLP<T>&);                                    \
    template MLP<T> mlp_from_checkpoint(const Checkpoint&);                                      \
    template VelocityMLP<T> velocity_mlp_from_checkpoint(const Checkpoint&);                     \
    template void load_parameters(const Checkpoint&, const std::vector<Var<T>>&, const std::string&);

AM_INSTANTIATE_CKPT(float)
AM_INSTANTIATE_CKPT(double)

}  // namespace am::nn
