#!/usr/bin/env bash
# make fuzz: runs each libFuzzer target of build-fuzz/ for SECONDS on a scratch
# copy of its seed corpus (tests/fuzz/corpus/NAME: valid files). A crash, a
# leak, a sanitizer report, an input slower than 10 s or more than 2 GB of
# memory stops it with the fuzzer's report and a non-zero exit; otherwise it
# prints one line per target: executions, seconds, peak memory.
# Usage: scripts/fuzz.sh BUILD SECONDS TARGET... (extra libFuzzer options in FUZZ_ARGS)
set -euo pipefail
build=$1; seconds=$2; shift 2
for t in "$@"; do
    corpus="$build/corpus/$t"
    rm -rf "$corpus" && mkdir -p "$corpus"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/
    log="$build/fuzz_$t.log"
    # OMP_NUM_THREADS=1: the readers have no parallel loops; -jobs/-workers stay 1
    if ! OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/crash_${t}_" \
        ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1; then
        rm -f /dev/shm/amflow_fuzz_idx_* /tmp/amflow_fuzz_idx_*
        tail -n 60 "$log"
        echo "fuzz: $t FAILED (log $log; the input is $build/crash_${t}_*)"
        exit 1
    fi
    rm -f /dev/shm/amflow_fuzz_idx_* /tmp/amflow_fuzz_idx_*  # fuzz_idx's scratch file (libFuzzer exits with _Exit)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
    echo "fuzz: $t: $runs executions in ${took:-$seconds} s, no crash, leak or sanitizer report (peak $rss MB)"
done
