#!/usr/bin/env python3
"""Executes the xeus-cling notebooks without xeus-cling (none exists in Debian;
docs/design.md#tests-notebooks-benchmarks): every code cell of a notebook, in order, becomes part of one
C++ program, compiled with g++ against build/libamflow.a, run, and what each
cell printed is compared with the output stored in the notebook.

Translation (the notebooks are written to make it exact):
  - `#pragma cling ...` lines (include/library paths, loading the library)
    are dropped: the compiler gets -Isrc and the library on its command line;
  - `#include` lines go to the top of the program;
  - every other line goes, in cell order, into the body of main(), so a
    variable of one cell is visible in the next ones, as in the notebook;
    functions are written as lambdas in the cells for that reason;
  - xcpp::display(x) becomes a call that prints "[display: MIME]" for each
    entry of mime_bundle_repr(x), the hook xeus-cling itself calls ("EMPTY"
    after the MIME type when there is nothing to show). Not the size: a
    picture of trained samples moves by a few bytes with the BLAS kernels
    and the thread count, and the check must hold on every machine.
Each cell starts by printing a marker line, so the output is split per cell.

A cell's output must equal the stored one character for character, except in
a cell whose metadata holds "amflow": {"atol": A, "rtol": R}: there every
number may differ from the stored one by at most A + R |stored| (the text
around the numbers must still be equal). Only cells that print the result of
a training run carry it: training amplifies the last-bit differences between
machines (BLAS kernels, vector width of -march=native) into differences in
the second decimal, while everything before training is exact on every
machine. The tolerance is stated in the cell's metadata and in the text
before it, so a reader knows which numbers move.

  python3 scripts/run_notebooks.py [--build build] [--update] [NOTEBOOK ...]

--update writes the outputs of this run into the notebooks (after a change of
a cell); without it a difference is an error naming the notebook, the cell
and the first differing line. Exit status 0 when every notebook ran and matched.
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys

MARK = "@@amflow-notebook-cell"

SHIM = r'''
namespace xcpp {
template <class T>
void display(const T& x) {
    const auto bundle = mime_bundle_repr(x);
    for (auto it = bundle.begin(); it != bundle.end(); ++it)
        std::cout << "[display: " << it.key()
                  << (it.value().template get<std::string>().empty() ? ", EMPTY]" : "]") << std::endl;
}
}  // namespace xcpp
'''


def cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def translate(nb):
    includes, body = [], []
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        body.append(f'std::cout << "{MARK} {i}" << std::endl;')
        for line in cell_source(cell).splitlines():
            s = line.strip()
            if s.startswith("#pragma cling"):
                continue
            if s.startswith("#include"):
                if "xcpp/" not in s:
                    includes.append(s)
                continue
            body.append(line)
    prog = ["#include <iostream>", "#include <nlohmann/json.hpp>"] + includes + [SHIM, "int main() {"]
    prog += body + ["return 0;", "}"]
    return "\n".join(prog) + "\n"


def stored_output(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            t = o.get("text", "")
            out.append("".join(t) if isinstance(t, list) else t)
    return "".join(out)


NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def lines_match(want, got, atol, rtol):
    """Equal, or (with a tolerance) equal text with numbers within atol + rtol |want|."""
    if want == got:
        return True
    if atol == 0 and rtol == 0:
        return False
    if NUMBER.split(want) != NUMBER.split(got):
        return False
    nw, ng = NUMBER.findall(want), NUMBER.findall(got)
    return len(nw) == len(ng) and all(abs(float(a) - float(b)) <= atol + rtol * abs(float(a))
                                      for a, b in zip(nw, ng))


def tolerance(cell):
    t = cell.get("metadata", {}).get("amflow", {})
    return float(t.get("atol", 0)), float(t.get("rtol", 0))


def split_output(text, n):
    parts = [""] * n
    cur = None
    for line in text.splitlines(keepends=True):
        m = re.match(rf"^{MARK} (\d+)$", line.strip())
        if m:
            cur = int(m.group(1))
            continue
        if cur is not None:
            parts[cur] += line
    return parts


def run(path, build, cxx, cxxflags, ldlibs, update):
    name = os.path.basename(path)
    with open(path) as f:
        try:
            nb = json.load(f)
        except json.JSONDecodeError as e:
            print(f"notebooks: {path}: not valid JSON ({e})")
            return False
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    work = os.path.join(build, "notebooks", os.path.splitext(name)[0])
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, "notebook.cpp")
    exe = os.path.join(work, "notebook")
    with open(src, "w") as f:
        f.write(translate(nb))
    cmd = [cxx] + shlex.split(cxxflags) + [src, os.path.join(build, "libamflow.a"), "-o", exe] + shlex.split(ldlibs)
    c = subprocess.run(cmd, capture_output=True, text=True)
    if c.returncode != 0:
        print(f"notebooks: {name}: does not compile (translated program {src}):\n{c.stderr[-3000:]}")
        return False
    r = subprocess.run([os.path.abspath(exe)], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"notebooks: {name}: the program failed (exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        return False
    got = split_output(r.stdout, len(code_cells))
    if update:
        for cell, text in zip(code_cells, got):
            cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": text.splitlines(keepends=True)}] if text else []
        with open(path, "w") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"notebooks: {name}: {len(code_cells)} code cells ran; outputs written into the notebook")
        return True
    ok = True
    for i, (cell, text) in enumerate(zip(code_cells, got)):
        want = stored_output(cell)
        atol, rtol = tolerance(cell)
        wl, gl = want.splitlines(), text.splitlines()
        j = next((k for k in range(max(len(wl), len(gl)))
                  if k >= len(wl) or k >= len(gl) or not lines_match(wl[k], gl[k], atol, rtol)), None)
        if j is not None:
            within = f" (beyond its tolerance {atol} + {rtol} |stored|)" if atol or rtol else ""
            print(f"notebooks: {name}: code cell {i + 1}, output line {j + 1} differs{within}:\n"
                  f"  stored: {wl[j] if j < len(wl) else '(nothing)'}\n"
                  f"  now:    {gl[j] if j < len(gl) else '(nothing)'}")
            ok = False
    if ok:
        print(f"notebooks: {name}: {len(code_cells)} code cells ran, every output as stored")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebooks", nargs="*")
    p.add_argument("--build", default="build")
    p.add_argument("--update", action="store_true")
    p.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    p.add_argument("--cxxflags", default=os.environ.get("NB_CXXFLAGS", "-std=c++17 -O1 -Isrc -fopenmp"))
    p.add_argument("--ldlibs", default=os.environ.get("NB_LDLIBS", "-lopenblas -lz -fopenmp"))
    a = p.parse_args()
    paths = a.notebooks or sorted(glob.glob("notebooks/*.ipynb"))
    if not paths:
        sys.exit("notebooks: no notebooks/*.ipynb")
    results = [run(n, a.build, a.cxx, a.cxxflags, a.ldlibs, a.update) for n in paths]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
