// Versioned binary checkpoints.
//
// Layout (little-endian):
//   "AMFLOWCK"                       8-byte magic
//   u32 version (= 1)
//   str kind                         e.g. "velocity_mlp", "mlp"
//   u32 n; n x (str key, str value)  metadata (architecture, training settings)
//   u32 n; n x (str name, u64 rows, u64 cols, f32[rows*cols])   tensors
//   u32 crc32 of everything above
// where str = u32 length + bytes. Written to PATH.tmp, synced and renamed over
// PATH (data/file_io.hpp), so a crash never leaves a half-written checkpoint
// where a good one was. A checkpoint whose weights are not all finite (a
// diverged run) is never written, nor loaded.
// Design: docs/design.md#networks
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/mlp.hpp"

namespace am::nn {

struct Checkpoint {
    std::string kind;
    std::map<std::string, std::string> meta;
    std::vector<std::pair<std::string, Mat<float>>> tensors;
    std::string source = "checkpoint";  // the file it was read from, for messages

    const std::string& get(const std::string& key) const;  // throws if missing
    long get_int(const std::string& key) const;
};

// Throws am::Error "WHERE: tensor 'W2' (r, c) entry i is nan ..." unless
// every tensor entry is finite.
void check_finite(const Checkpoint& ck, const std::string& where);
// The bytes of the file (check_finite first; `path` names it in the message).
std::string checkpoint_bytes(const Checkpoint& ck, const std::string& path);
// checkpoint_bytes written atomically to `path`: on any error the file that
// was there is left untouched.
void save_checkpoint(const std::string& path, const Checkpoint& ck);
// Throws am::Error naming the file and the problem: missing, truncated,
// wrong magic, unsupported version, corrupted (checksum), non-finite weights.
Checkpoint load_checkpoint(const std::string& path);
// The same on the bytes of a file; `where` names it in messages. Never
// allocates more than the bytes hold.
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& where);

// The layer sizes of the network a checkpoint holds (kind "mlp": its
// "sizes"; "velocity_mlp": d + 1, width x depth, d), checked against its
// tensors (W (in, out), b (1, out) per layer) without allocating anything:
// am::Error naming the file otherwise. Models are built only after it.
std::vector<Index> checkpoint_layer_sizes(const Checkpoint& ck);

// Model <-> checkpoint (checkpoint_models.cpp). Loading checks the kind and
// every tensor's shape.
template <class T> Checkpoint to_checkpoint(const MLP<T>& m);
template <class T> Checkpoint to_checkpoint(const VelocityMLP<T>& m);
template <class T> MLP<T> mlp_from_checkpoint(const Checkpoint& ck);
template <class T> VelocityMLP<T> velocity_mlp_from_checkpoint(const Checkpoint& ck);

// Copies the checkpoint's tensors into existing parameters, in order,
// checking count and shapes ("where" names the file in error messages).
template <class T>
void load_parameters(const Checkpoint& ck, const std::vector<Var<T>>& params, const std::string& where);

}  // namespace am::nn
