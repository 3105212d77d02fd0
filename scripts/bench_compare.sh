#!/usr/bin/env bash
# Runs the five workloads of bench/WORKLOADS.md with amflow-bench (its autograd
# engine, then its Thrust engine, --backend thrust, on the four workloads that
# engine runs: not bptt2d) and with the PyTorch peer (bench/torch_peer.py), one
# after the other in one run, at 1 and at 2 threads, and prints the markdown
# table of BENCHMARKS.md. The raw JSON lines go to $OUT (default bench-results.jsonl).
#
#   scripts/bench_compare.sh [--quick] [--peer PATH]
#
# The peer needs Debian's python3-torch and python3-numpy, run by
# /usr/bin/python3: scripts/deps.sh installs them first.
# OpenBLAS 0.3.21 does not recognise some virtual CPUs and falls back to its
# slowest kernels ("Prescott"); amflow notices and sets OPENBLAS_CORETYPE
# itself (src/core/parallel.cpp). The peer runs twice: with the same
# OPENBLAS_CORETYPE (the fair comparison: the same sgemm under both) and in
# its default environment (what a PyTorch user on this machine gets).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""
peer=bench/torch_peer.py
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick="--quick" ;;
        --peer) peer="$2"; shift ;;
        *) echo "bench_compare: unknown option '$1' (use --quick, --peer PATH)" >&2; exit 2 ;;
    esac
    shift
done
out=${OUT:-bench-results.jsonl}
bench=${BENCH:-build/amflow-bench}
[ -x "$bench" ] || { echo "bench_compare: no $bench (run: make build/amflow-bench)" >&2; exit 1; }
[ -f "$peer" ] || { echo "bench_compare: no peer script at $peer" >&2; exit 1; }
bash scripts/deps.sh python3-torch python3-numpy
/usr/bin/python3 -c "import torch, numpy" 2>/dev/null || {
    echo "bench_compare: /usr/bin/python3 cannot import torch and numpy (Debian's python3-torch, python3-numpy)" >&2; exit 1; }

coretype=$("$bench" --print-coretype)
echo "bench_compare: OPENBLAS_CORETYPE=$coretype for both; results in $out" >&2
: > "$out"
for threads in 1 2; do
    echo "bench_compare: amflow, $threads thread(s)" >&2
    OPENBLAS_CORETYPE=$coretype "$bench" --threads "$threads" $quick --workloads fm2d,am2d,bptt2d,fmmnist,ammnist,sgemm_peak >> "$out"
    echo "bench_compare: amflow --backend thrust, $threads thread(s)" >&2
    OPENBLAS_CORETYPE=$coretype "$bench" --threads "$threads" $quick --backend thrust --workloads fm2d,am2d,fmmnist,ammnist >> "$out"
    echo "bench_compare: pytorch (OPENBLAS_CORETYPE=$coretype), $threads thread(s)" >&2
    OPENBLAS_CORETYPE=$coretype /usr/bin/python3 "$peer" --threads "$threads" $quick |
        sed 's/^{/{"kernels": "same", /' >> "$out"
    echo "bench_compare: pytorch (its default environment), $threads thread(s)" >&2
    env -u OPENBLAS_CORETYPE /usr/bin/python3 "$peer" --threads "$threads" $quick |
        sed 's/^{/{"kernels": "default", /' >> "$out"
done
python3 scripts/bench_table.py "$out"
