#!/usr/bin/env bash
# The GPU check of the Thrust engine (README "Two engines"), for a machine with
# an NVIDIA GPU, nvcc and a Python whose PyTorch is built for CUDA, where
# nothing can be installed: the header-only dependencies and the shared
# libraries come from third_party/ (`make vendor` on a machine that has them).
#
#   1. builds the CUDA engine: make CUDA=1 (build-cuda/amflow-tests, amflow-bench)
#   2. runs the device tests (tests/test_device.cpp) on the GPU
#   3. runs the workloads of bench/WORKLOADS.md with amflow-bench --backend thrust
#      and with the PyTorch peer, bench/torch_peer.py --device cuda
#   4. prints one table: per workload, both medians, their ratio, amflow's GFLOP/s
#
# Under 8 minutes with the build (nvcc: about 30 s per Thrust translation unit,
# all compiled in parallel). The raw JSON lines go to $OUT (default gpu-check.jsonl).
#
#   scripts/gpu_check.sh [--dry-run] [--quick] [--workloads LIST] [--python PY] [--jobs N]
#
# --dry-run prints what would run and checks what it can without a GPU (the
# tools, third_party/, the arguments); it builds and runs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
quick=""
workloads="fm2d,am2d,fmmnist,ammnist"
python=${PYTHON:-python3}
jobs=$(nproc 2>/dev/null || echo 4)
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry=1 ;;
        --quick) quick="--quick" ;;
        --workloads) [ $# -ge 2 ] || { echo "gpu_check: --workloads needs a list" >&2; exit 2; }; workloads="$2"; shift ;;
        --python) [ $# -ge 2 ] || { echo "gpu_check: --python needs a path" >&2; exit 2; }; python="$2"; shift ;;
        --jobs) [ $# -ge 2 ] || { echo "gpu_check: --jobs needs a number" >&2; exit 2; }; jobs="$2"; shift ;;
        *) echo "gpu_check: unknown option '$1' (use --dry-run, --quick, --workloads LIST, --python PY, --jobs N)" >&2
           exit 2 ;;
    esac
    shift
done
case "$jobs" in ''|*[!0-9]*) echo "gpu_check: --jobs '$jobs' is not a positive integer" >&2; exit 2 ;; esac
IFS=',' read -r -a names <<<"$workloads"
[ ${#names[@]} -gt 0 ] || { echo "gpu_check: --workloads is empty" >&2; exit 2; }
for w in "${names[@]}"; do
    case "$w" in
        fm2d|am2d|fmmnist|ammnist) ;;
        bptt2d) echo "gpu_check: bptt2d has no Thrust path (it runs on autograd): leave it out" >&2; exit 2 ;;
        *) echo "gpu_check: unknown workload '$w' (choose from fm2d,am2d,fmmnist,ammnist)" >&2; exit 2 ;;
    esac
done
out=${OUT:-gpu-check.jsonl}

nvcc=${NVCC:-$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)}
missing=()
[ -n "$nvcc" ] || missing+=("nvcc (PATH or NVCC=)")
[ -d third_party/include ] || [ "$dry" = 1 ] || missing+=("third_party/ (run make vendor on a machine with the Debian packages)")
command -v "$python" >/dev/null 2>&1 || missing+=("$python")

run() {  # prints the command; runs it unless --dry-run
    echo "+ $*" >&2
    [ "$dry" = 1 ] || "$@"
}

echo "gpu_check: nvcc ${nvcc:-missing}; python $python; workloads $workloads; jobs $jobs; results in $out" >&2
if [ "$dry" = 1 ]; then
    [ -d third_party/include ] && echo "gpu_check: third_party/ present" >&2 ||
        echo "gpu_check: third_party/ absent (the system's headers are used; the GPU machine needs make vendor)" >&2
    [ ${#missing[@]} -eq 0 ] || echo "gpu_check: missing: ${missing[*]}" >&2
    if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L >&2 || true; else echo "gpu_check: no nvidia-smi (no GPU here)" >&2; fi
else
    [ ${#missing[@]} -eq 0 ] || { echo "gpu_check: missing: ${missing[*]}" >&2; exit 1; }
    "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" ||
        { echo "gpu_check: $python's torch sees no CUDA device" >&2; exit 1; }
fi

start=$(date +%s)
run make -j"$jobs" CUDA=1 NVCC="$nvcc" build-cuda/amflow-tests build-cuda/amflow-bench
echo "gpu_check: build done after $(( $(date +%s) - start )) s" >&2
run ./build-cuda/amflow-tests -tc='device*' -tce='*[slow]*'
echo "gpu_check: device tests done after $(( $(date +%s) - start )) s" >&2
if [ "$dry" = 0 ]; then
    : > "$out"
    ./build-cuda/amflow-bench --backend thrust $quick --workloads "$workloads" >> "$out"
    "$python" bench/torch_peer.py --device cuda $quick --workloads "$workloads" >> "$out"
else
    run ./build-cuda/amflow-bench --backend thrust $quick --workloads "$workloads"
    run "$python" bench/torch_peer.py --device cuda $quick --workloads "$workloads"
    exit 0
fi
echo "gpu_check: workloads done after $(( $(date +%s) - start )) s" >&2

"$python" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
amf = {r["workload"]: r for r in rows if r.get("impl", "").startswith("amflow")}
peer = {r["workload"]: r for r in rows if not r.get("impl", "").startswith("amflow")}
print("| workload | amflow thrust (%s) ms | PyTorch CUDA eager ms | PyTorch / amflow | amflow GFLOP/s |"
      % next((r.get("device_system", "?") for r in amf.values()), "?"))
print("| --- | --- | --- | --- | --- |")
for w in ["fm2d", "am2d", "fmmnist", "ammnist"]:
    if w not in amf:
        continue
    a, p = amf[w], peer.get(w)
    pm = p["ms_median"] if p else float("nan")
    print("| %s | %.3f | %.3f | %.2fx | %.1f |" % (w, a["ms_median"], pm, pm / a["ms_median"], a["gflops_per_s"]))
PY
