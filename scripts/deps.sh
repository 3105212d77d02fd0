#!/usr/bin/env bash
# Installs the Debian packages the project needs, when any is missing.
#   root        -> apt-get update (once) && apt-get install -y ...
#   sudo        -> the same through sudo (non-interactive)
#   otherwise   -> prints the exact command and fails.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

PACKAGES=(
    g++ make
    libxtensor-dev xtl-dev libxtensor-blas-dev   # arrays, BLAS bindings
    libopenblas-dev libopenblas-openmp-dev       # the BLAS (its OpenMP build is linked)
    doctest-dev                                  # tests
    zlib1g-dev                                   # gzipped IDX files
    libcli11-dev                                 # command line
    nlohmann-json3-dev                           # mixture specs, eval output
    pkg-config                                   # make test: the installed library's amflow.pc
    libstb-dev                                   # PNG writer, text for plots
    libthrust-dev libcub-dev                     # Thrust path (OpenMP backend on CPU)
    "$@"
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "deps: not root and no password-less sudo. Run this, then try again:"
    echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists: apt-get install finds nothing before an update.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: installed ${missing[*]}"
