#!/usr/bin/env python3
"""Markdown table of one bench_compare.sh run (JSON lines of amflow-bench and
of bench/torch_peer.py): per workload and thread count, the medians of
amflow's autograd engine, of its Thrust engine (lines with "engine": "thrust")
and of the peer, the ratios peer / amflow, GFLOP/s and their share of the
sgemm peak measured in the same run, and peak memory. Standard library only.

    python3 scripts/bench_table.py bench-results.jsonl
"""
import json
import sys


def main(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"bench_table: {path}:{n}: not a JSON object ({e})")
    if not rows:
        sys.exit(f"bench_table: {path}: no JSON lines")

    def impl(r):
        if r.get("impl", "").startswith("amflow"):
            return "thrust" if r.get("engine") == "thrust" else "amflow"
        return "pytorch-default" if r.get("kernels") == "default" else "pytorch"

    res = {}
    peak = {}
    for r in rows:
        key = (impl(r), int(r.get("threads", 0)))
        if r["workload"] == "sgemm_peak":
            peak[key] = r["gflops_per_s"]
        else:
            res[(r["workload"],) + key] = r

    def ms(r):
        return f"{r['ms_median']:.1f}" if r else "-"

    def ratio(p, a):
        return f"{p['ms_median'] / a['ms_median']:.2f}x" if a and p else "-"

    def mb(r):
        return f"{r['peak_rss_mb']:.0f}" if r else "-"

    print("| workload | threads | amflow ms | PyTorch ms, same BLAS kernels | speed-up | PyTorch ms, default "
          "kernels | speed-up | amflow GFLOP/s (% of sgemm peak) | PyTorch GFLOP/s, same kernels (%) "
          "| amflow peak MB | PyTorch peak MB | thrust ms | speed-up | thrust GFLOP/s (%) | thrust peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in ["fm2d", "am2d", "bptt2d", "fmmnist", "ammnist"]:
        for t in sorted({k[2] for k in res if k[0] == w}):
            a, p, q, th = (res.get((w, i, t)) for i in ("amflow", "pytorch", "pytorch-default", "thrust"))
            pk = peak.get(("amflow", t))

            def rate(r):
                if not r:
                    return "-"
                pct = f" ({100 * r['gflops_per_s'] / pk:.0f}%)" if pk else ""
                return f"{r['gflops_per_s']:.1f}{pct}"

            print(f"| {w} | {t} | {ms(a)} | {ms(p)} | {ratio(p, a)} | {ms(q)} | {ratio(q, a)} | {rate(a)} | "
                  f"{rate(p)} | {mb(a)} | {mb(p)} | {ms(th)} | {ratio(p, th)} | {rate(th)} | {mb(th)} |")
    for t in sorted({k[1] for k in peak}):
        vals = ", ".join(f"{name} {peak[(name, t)]}" for name in ("amflow", "pytorch", "pytorch-default")
                         if (name, t) in peak)
        print(f"\nsgemm peak (GFLOP/s) at {t} thread(s): {vals}.", end="")
    print()
    print("\namflow: the autograd engine (the default); thrust: the Thrust engine (--backend thrust, its OpenMP "
          "build); speed-up: PyTorch (same kernels) ms / amflow ms.")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bench_table.py RESULTS.jsonl")
    main(sys.argv[1])
