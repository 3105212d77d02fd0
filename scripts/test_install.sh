#!/usr/bin/env bash
# The installed library works from another program (run by make test):
# `make install` into a temporary prefix, then the example program of the
# README's section "Using the library from your own code" (its first ```cpp
# block) is compiled and linked against that copy with
# `pkg-config --cflags --libs amflow`, run, and what it prints must be the
# line the README says it prints ("It prints `...`"). The static archive is
# checked the same way (linked explicitly, same output).
#
#   scripts/test_install.sh [BUILD_DIR]      (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
fail() { echo "test_install: FAILED: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

section=$(awk '/^## Using the library from your own code/ {on = 1; next} /^## / {on = 0} on' README.md)
[ -n "$section" ] || fail "README.md has no section '## Using the library from your own code'"
printf '%s\n' "$section" | awk '/^```cpp/ {on = 1; next} on && /^```/ {exit} on' > "$tmp/example.cpp"
[ -s "$tmp/example.cpp" ] || fail "the README's install section has no \`\`\`cpp block"
expected=$(printf '%s\n' "$section" | sed -n 's/.*It prints `\([^`]*\)`.*/\1/p' | head -n 1)
[ -n "$expected" ] || fail "the README's install section does not say what the example prints (It prints \`...\`)"

make --no-print-directory install BUILD="$build" PREFIX="$prefix" > "$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "make install PREFIX=$prefix"; }
for f in include/amflow/flow/sampler.hpp lib/libamflow.a lib/libamflow.so lib/pkgconfig/amflow.pc; do
    [ -f "$prefix/$f" ] || fail "make install did not install $f"
done

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cxx=${CXX:-g++}
# shared: exactly the README's command
# shellcheck disable=SC2046
"$cxx" -O1 "$tmp/example.cpp" -o "$tmp/example" $(pkg-config --cflags --libs amflow) ||
    fail "the README's example does not compile and link against the installed library"
# (ldd into a file: `ldd | grep -q` under pipefail fails when grep exits first and ldd gets SIGPIPE)
ldd "$tmp/example" > "$tmp/ldd.txt" || fail "ldd cannot read the example"
grep -q "$prefix/lib/libamflow.so" "$tmp/ldd.txt" || fail "the example is not linked to $prefix/lib/libamflow.so"
got=$("$tmp/example") || fail "the example exits with an error"
[ "$got" = "$expected" ] || fail "the example printed '$got', the README says '$expected'"
# static: the archive instead of the shared library
# shellcheck disable=SC2046
"$cxx" -O1 "$tmp/example.cpp" -o "$tmp/example-static" $(pkg-config --cflags amflow) "$prefix/lib/libamflow.a" \
    $(pkg-config --libs amflow | sed 's/ -lamflow / /') || fail "the example does not link against libamflow.a"
got=$("$tmp/example-static") || fail "the statically linked example exits with an error"
[ "$got" = "$expected" ] || fail "the statically linked example printed '$got', the README says '$expected'"
echo "test_install: the README's example builds against the installed library (shared and static) and prints '$got'"
