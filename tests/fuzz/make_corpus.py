#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/):
small valid files of each format, so that the fuzzer starts from inputs that
get through the whole reader. Run from the repository root; the files are
committed, this script says how they were made."""
import gzip, json, os, struct, zlib

root = "tests/fuzz/corpus"

def put(name, data):
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)

# IDX: 2 images of 3 x 2 pixels and their labels, plain and gzipped (mtime 0: reproducible)
images = struct.pack(">IIII", 0x803, 2, 3, 2) + bytes(range(0, 240, 20))
labels = struct.pack(">II", 0x801, 2) + bytes([3, 9])
put("idx/images.idx", images)
put("idx/labels.idx", labels)
put("idx/images.idx.gz", gzip.compress(images, mtime=0))
put("idx/labels.idx.gz", gzip.compress(labels, mtime=0))

# samples CSV
put("csv/two_d.csv", b"x0,x1\n0.5,-1.25\n3e-3,2\n\n-4.125,0.0001\n")
put("csv/crlf.csv", b"x0 , x1 , x2\r\n1,2,3\r\n4,5,6\r\n")

# mixture JSON: the default ring (8 components, std 0.5, radius 4) and full covariances
import math
ring = {"weights": [1] * 8,
        "means": [[4 * math.cos(2 * math.pi * k / 8), 4 * math.sin(2 * math.pi * k / 8)] for k in range(8)],
        "stds": [0.5] * 8}
put("mixture_json/ring.json", json.dumps(ring).encode())
put("mixture_json/covs.json", json.dumps({"weights": [0.3, 0.7], "means": [[0, 1], [2, -1]],
                                          "covs": [[[1, 0.2], [0.2, 0.5]], [[0.3, 0], [0, 0.3]]]}).encode())

# checkpoints (nn/checkpoint.hpp): a velocity_mlp (d 2, width 3, depth 1) and an mlp 4 -> 3 -> 2
def s(b):
    return struct.pack("<I", len(b)) + b

def checkpoint(kind, meta, tensors):
    out = b"AMFLOWCK" + struct.pack("<I", 1) + s(kind) + struct.pack("<I", len(meta))
    for k, v in sorted(meta.items()):
        out += s(k) + s(v)
    out += struct.pack("<I", len(tensors))
    for name, r, c in tensors:
        out += s(name) + struct.pack("<QQ", r, c) + struct.pack("<%df" % (r * c), *[0.01 * i for i in range(r * c)])
    return out + struct.pack("<I", zlib.crc32(out))

put("checkpoint/velocity_mlp.ckpt", checkpoint(b"velocity_mlp", {b"dim": b"2", b"width": b"3", b"depth": b"1", b"data": b"ring"},
                                               [(b"W0", 3, 3), (b"b0", 1, 3), (b"W1", 3, 2), (b"b1", 1, 2)]))
put("checkpoint/mlp.ckpt", checkpoint(b"mlp", {b"sizes": b"4,3,2", b"activation": b"silu"},
                                      [(b"W0", 4, 3), (b"b0", 1, 3), (b"W1", 3, 2), (b"b1", 1, 2)]))
