#!/usr/bin/env python3
"""Executes the notebooks cell by cell in clang-repl-19, the incremental C++
interpreter xeus-cpp (xeus-cling's successor) is built on, and checks or
stores their outputs (docs/design.md#tests-notebooks-benchmarks).

One interpreter process per notebook runs its code cells in order, as the
xcpp17 kernel would: a cell may declare functions, structs and variables at
top level, and what one cell declares the next ones see. Each cell is fed one
top-level declaration or statement at a time (a multi-line one joined with
trailing backslashes): clang-repl-19 hung on whole multi-statement cells.
After each input the runner feeds a marker statement that prints a sync line
on stdout and stderr, so every output and every diagnostic is attributed to
its cell and statement.

Translated (only what must be):
  - `#pragma cling add_include_path("p")`  -> -Xcc=-I<p> (relative to the notebook);
  - `#pragma cling add_library_path("p")`  -> where load() looks, after --build;
  - `#pragma cling load("lib.so")`         -> `%lib <path>` at that point;
  - `#include "xcpp/xdisplay.hpp"` finds the runner's own header (written
    into the work folder), whose xcpp::display(x) prints the JSON of
    mime_bundle_repr(x) framed by a marker line; the runner turns it into a
    Jupyter display_data output (an image/png picture is stored in the .ipynb).

Outputs are standard Jupyter outputs: the cell's stdout as a stream output,
each display as a display_data output, in the order they were printed.

Check mode (default): a cell that does not compile, a cell that throws (the
interpreter terminates), a cell slower than --cell-timeout, a picture that is
stored but not produced (or produced but not stored, or empty), or a text
line that differs from the stored one fails, naming the notebook and the
cell. Text must be equal character for character, except in a cell whose
metadata holds "amflow": {"atol": A, "rtol": R}: there every number may
differ from the stored one by at most A + R |stored| (the text around the
numbers must still be equal). Only cells that print the result of a training
run carry it: training amplifies the last-bit differences between machines
(BLAS kernels, vector width of -march=native) into differences in the second
decimal. Picture bytes are not compared (they move with those bits too).

  python3 scripts/run_notebooks.py [--build build] [--update] [NOTEBOOK ...]

--update writes this run's outputs into the notebooks (after editing a cell).
Each cell's seconds are printed. The interpreter runs with OMP_NUM_THREADS=1
(the thread count the stored outputs were made with) and
OMP_WAIT_POLICY=passive unless they are set. Exit status 0 when every
notebook ran (and, in check mode, matched).
"""
import argparse
import base64
import glob
import json
import os
import re
import subprocess
import sys
import threading
import time

SYNC = "@@amflow-sync"
DISPLAY = "@@amflow-display "

# The header that `#include "xcpp/xdisplay.hpp"` finds when the runner executes
# a notebook (xeus-cling and xeus-cpp ship their own under that name).
XDISPLAY_HPP = r'''// xcpp::display for scripts/run_notebooks.py: prints mime_bundle_repr(x) as
// one JSON line after a marker; the runner stores it as a display_data output.
#pragma once
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
namespace xcpp {
template <class T>
void display(const T& x) {
    const nlohmann::json bundle = mime_bundle_repr(x);
    std::cout.flush();
    std::printf("\n@@amflow-display %s\n", bundle.dump().c_str());
    std::fflush(stdout);
}
}  // namespace xcpp
'''

PRAGMA = re.compile(r'^\s*#\s*pragma\s+cling\s+(\w+)\s*\(\s*"([^"]*)"\s*\)\s*$')
ERROR = re.compile(r"(?:^|\n)(?:input_line_\d+:\d+:\d+: )?(?:fatal )?error: ")


class Failure(Exception):
    pass


def cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


# ---- splitting a cell into top-level declarations and statements ----------

CLASS_LIKE = re.compile(r"^\s*(?:template\s*<[^{]*>\s*)?(?:struct|class|union|enum)\b")
ASSIGN = re.compile(r"(?<![=!<>+\-*/%&|^])=(?!=)")


def _next_word(s, i):
    """The first token of s after position i, skipping blanks and comments."""
    n = len(s)
    while i < n:
        if s[i].isspace():
            i += 1
        elif s.startswith("//", i):
            j = s.find("\n", i)
            i = n if j < 0 else j
        elif s.startswith("/*", i):
            j = s.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    m = re.match(r"[A-Za-z_]\w*|.", s[i:], re.S)
    return (m.group(0) if m else ""), i


def split_statements(src):
    """Splits a cell into its top-level pieces: [(first line in the cell, text)].
    Comments are dropped; a preprocessor line is a piece of its own; a piece
    ends at a ';' or a closing '}' outside any bracket, unless what follows
    continues it (else, catch, while of a do, ';' after a class or an
    initialiser)."""
    pieces, cur, start_line = [], [], None
    depth, i, n, line = 0, 0, len(src), 1

    def flush():
        nonlocal cur, start_line
        text = "".join(cur).strip()
        if text:
            pieces.append((start_line, text))
        cur, start_line = [], None

    def emit(t):
        nonlocal start_line
        if start_line is None and t.strip():
            start_line = line
        cur.append(t)

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            emit(c)
            i += 1
            continue
        # a preprocessor line (with its backslash continuations) at top level
        if c == "#" and depth == 0 and not "".join(cur).strip():
            j = i
            while True:
                k = src.find("\n", j)
                k = n if k < 0 else k
                if k > i and src[k - 1] == "\\" and k < n:
                    j = k + 1
                    continue
                break
            emit(src[i:k])
            flush()
            line += src[i:k].count("\n")
            i = k
            continue
        if src.startswith("//", i):
            k = src.find("\n", i)
            i = n if k < 0 else k
            continue
        if src.startswith("/*", i):
            k = src.find("*/", i + 2)
            k = n if k < 0 else k + 2
            line += src[i:k].count("\n")
            emit(" " + "\n" * src[i:k].count("\n"))
            i = k
            continue
        if c == 'R' and src.startswith('"', i + 1) and not (cur and (cur[-1][-1:].isalnum() and cur[-1][-1:] not in "uUL8")):
            m = re.match(r'R"([^(\s]*)\(', src[i:])
            if m:
                end = src.find(")" + m.group(1) + '"', i + m.end())
                end = n if end < 0 else end + len(m.group(1)) + 2
                emit(src[i:end])
                line += src[i:end].count("\n")
                i = end
                continue
        if c == '"' or (c == "'" and not (cur and cur[-1][-1:].isdigit())):
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            emit(src[i:j + 1])
            i = j + 1
            continue
        emit(c)
        i += 1
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                raise Failure(f"line {line}: unbalanced '{c}'")
            if c == "}" and depth == 0:
                text = "".join(cur)
                word, _ = _next_word(src, i)
                head = re.sub(r"\{.*", "", text, flags=re.S)  # what precedes the first '{', at depth 0:
                while re.search(r"\([^()]*\)", head):               # '=' of a default argument does not count
                    head = re.sub(r"\([^()]*\)", "", head)
                if word in (";", ",", ")", ".", "-", "(", "else", "catch") or \
                        (word == "while" and text.lstrip().startswith("do")) or \
                        CLASS_LIKE.match(text) or ASSIGN.search(re.sub(r"operator\W+", "operator ", head)):
                    continue
                flush()
        elif c == ";" and depth == 0:
            word, _ = _next_word(src, i)
            if word != "else":
                flush()
    if depth != 0:
        raise Failure(f"unbalanced brackets at the end of the cell ({depth} open)")
    flush()
    return pieces


def as_input(text):
    """One interpreter input: a multi-line piece joined with trailing backslashes."""
    lines = [l.strip() for l in text.split("\n")]
    lines = [l for l in lines if l]
    return " \\\n".join(lines) + "\n"


# ---- the interpreter process ----------------------------------------------

class Repl:
    def __init__(self, cmd, cwd, env):
        self.p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.buf = {"out": b"", "err": b""}
        self.eof = {"out": False, "err": False}
        self.cv = threading.Condition()
        self.count = 0
        for key, stream in (("out", self.p.stdout), ("err", self.p.stderr)):
            threading.Thread(target=self._read, args=(key, stream), daemon=True).start()

    def _read(self, key, stream):
        while True:
            data = os.read(stream.fileno(), 65536)
            with self.cv:
                if not data:
                    self.eof[key] = True
                else:
                    self.buf[key] += data
                self.cv.notify_all()
            if not data:
                return

    def feed(self, text, timeout):
        """Runs one input; returns (stdout, stderr) it produced. Raises
        Failure when the interpreter died or did not finish in time."""
        self.count += 1
        tok = f"\n{SYNC} {self.count}\n".encode()
        sync = (f'std::fflush(stdout), std::printf("\\n{SYNC} %d\\n", {self.count}), std::fflush(stdout), '
                f'std::fprintf(stderr, "\\n{SYNC} %d\\n", {self.count});\n')
        try:
            self.p.stdin.write(text.encode() + sync.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + timeout
        with self.cv:
            while not all(tok in self.buf[k] for k in ("out", "err")):
                if all(self.eof.values()) or (self.p.poll() is not None and any(self.eof.values())):
                    self.cv.wait(0.2)
                    if not all(tok in self.buf[k] for k in ("out", "err")):
                        err = self.buf["err"].decode(errors="replace").strip().splitlines()[-6:]
                        raise Failure("the interpreter stopped (exit %s):\n    %s" %
                                      (self.p.wait(), "\n    ".join(err) or "(nothing on stderr)"))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"no result after {timeout:.0f} s (--cell-timeout)")
                self.cv.wait(min(left, 1.0))
            res = []
            for k in ("out", "err"):
                j = self.buf[k].index(tok)
                res.append(self.buf[k][:j].decode(errors="replace"))
                self.buf[k] = self.buf[k][j + len(tok):]
        return res

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write(b"%quit\n")
                self.p.stdin.close()
                self.p.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()


# ---- outputs --------------------------------------------------------------

def outputs_of(text):
    """stdout of a cell -> Jupyter outputs (stream text and display_data, in order)."""
    outs, pos = [], 0
    marker = "\n" + DISPLAY
    while True:
        j = text.find(marker, pos)
        chunk = text[pos:] if j < 0 else text[pos:j]
        if chunk:
            if outs and outs[-1]["output_type"] == "stream":
                outs[-1]["text"] += chunk
            else:
                outs.append({"name": "stdout", "output_type": "stream", "text": chunk})
        if j < 0:
            break
        k = text.find("\n", j + len(marker))
        k = len(text) if k < 0 else k
        bundle = json.loads(text[j + len(marker):k])
        outs.append({"data": bundle, "metadata": {}, "output_type": "display_data"})
        pos = k + 1
    for o in outs:
        if o["output_type"] == "stream":
            o["text"] = o["text"].splitlines(keepends=True)
    return outs


def stored_text(outs):
    return "".join("".join(o["text"]) if isinstance(o.get("text"), list) else o.get("text", "")
                   for o in outs if o.get("output_type") == "stream" and o.get("name") == "stdout")


def displays(outs):
    return [sorted(o.get("data", {})) for o in outs if o.get("output_type") in ("display_data", "execute_result")]


def picture_problem(outs):
    for o in outs:
        if o.get("output_type") != "display_data":
            continue
        for mime, data in o.get("data", {}).items():
            data = "".join(data) if isinstance(data, list) else data
            if mime == "image/png":
                try:
                    raw = base64.b64decode(data, validate=False)
                except ValueError:
                    raw = b""
                if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
                    return "its image/png output is empty or not a PNG"
    return None


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


def compare(cell, outs):
    """None when the run's outputs match the stored ones, else what differs."""
    atol, rtol = tolerance(cell)
    stored = cell.get("outputs", [])
    wl, gl = stored_text(stored).splitlines(), stored_text(outs).splitlines()
    j = next((k for k in range(max(len(wl), len(gl)))
              if k >= len(wl) or k >= len(gl) or not lines_match(wl[k], gl[k], atol, rtol)), None)
    if j is not None:
        within = f" (beyond its tolerance {atol} + {rtol} |stored|)" if atol or rtol else ""
        return (f"output line {j + 1} differs{within}:\n"
                f"  stored: {wl[j] if j < len(wl) else '(nothing)'}\n"
                f"  now:    {gl[j] if j < len(gl) else '(nothing)'}")
    ws, gs = displays(stored), displays(outs)
    if len(gs) < len(ws):
        return f"{len(ws)} picture(s)/display(s) stored, {len(gs)} produced: a picture is missing"
    if len(gs) > len(ws):
        return (f"{len(gs)} picture(s)/display(s) produced, {len(ws)} stored "
                f"(store them: make notebooks NB_UPDATE=1)")
    if ws != gs:
        return f"displays of MIME types {ws} stored, {gs} produced"
    return picture_problem(stored) or picture_problem(outs)


# ---- one notebook ---------------------------------------------------------

def run(path, a):
    name = os.path.basename(path)
    nbdir = os.path.dirname(os.path.abspath(path))
    try:
        with open(path) as f:
            nb = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"notebooks: {path}: cannot be read as a notebook ({e})")
        return False
    code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    work = os.path.abspath(os.path.join(a.build, "notebooks", os.path.splitext(name)[0]))
    os.makedirs(os.path.join(work, "include", "xcpp"), exist_ok=True)
    with open(os.path.join(work, "include", "xcpp", "xdisplay.hpp"), "w") as f:
        f.write(XDISPLAY_HPP)

    # every cell as pieces; the cling pragmas of all cells give the flags
    include_dirs, lib_dirs, plans = [], [os.path.abspath(a.build)], []
    try:
        for i, cell in enumerate(code_cells):
            inputs = []
            for line_no, text in split_statements(cell_source(cell)):
                m = PRAGMA.match(text)
                if text.lstrip().startswith("#pragma cling") and not m:
                    raise Failure(f"code cell {i + 1}, line {line_no}: unknown form of '{text}'")
                if m and m.group(1) == "add_include_path":
                    include_dirs.append(os.path.normpath(os.path.join(nbdir, m.group(2))))
                elif m and m.group(1) == "add_library_path":
                    lib_dirs.append(os.path.normpath(os.path.join(nbdir, m.group(2))))
                elif m and m.group(1) == "load":
                    inputs.append((line_no, ("load", m.group(2))))
                elif m:
                    raise Failure(f"code cell {i + 1}, line {line_no}: '#pragma cling {m.group(1)}' is not supported")
                else:
                    inputs.append((line_no, text))
            plans.append(inputs)
    except Failure as e:
        print(f"notebooks: {name}: {e}")
        return False

    cmd = [a.repl, "-Xcc=-std=c++17", "-Xcc=-I" + os.path.join(work, "include")]
    cmd += ["-Xcc=-I" + d for d in include_dirs] + ["-Xcc=" + f for f in a.repl_flags.split()]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        repl = Repl(cmd, work, env)
    except OSError as e:
        print(f"notebooks: {name}: cannot start {a.repl} ({e}); `make notebooks` installs clang-tools-19")
        return False
    ok, results, total = True, [], 0.0
    try:
        repl.feed("#include <cstdio>\n", a.cell_timeout)
        for i, (cell, inputs) in enumerate(zip(code_cells, plans)):
            t0, out = time.monotonic(), ""
            for line_no, text in inputs:
                where = f"code cell {i + 1}, line {line_no}"
                if isinstance(text, tuple):
                    lib = next((os.path.join(d, text[1]) for d in lib_dirs
                                if os.path.exists(os.path.join(d, text[1]))), None)
                    if lib is None:
                        raise Failure(f"{where}: load(\"{text[1]}\"): not found in {', '.join(lib_dirs)} "
                                      f"(make notebook-lib)")
                    text = f"%lib {lib}\n"
                else:
                    text = as_input(text)
                try:
                    o, e = repl.feed(text, a.cell_timeout)
                except Failure as f:
                    raise Failure(f"{where}: {f}")
                out += o
                if ERROR.search(e) or (text.startswith("%lib") and e.strip()):
                    raise Failure(f"{where}: does not compile or load:\n    " +
                                  "\n    ".join(e.strip().splitlines()[:12]))
            dt = time.monotonic() - t0
            total += dt
            outs = outputs_of(out)
            results.append(outs)
            print(f"notebooks: {name}: code cell {i + 1}: {len(inputs)} inputs, {dt:.1f} s", flush=True)
            if not a.update:
                problem = compare(cell, outs)
                if problem:
                    print(f"notebooks: {name}: code cell {i + 1}: {problem}")
                    ok = False
    except Failure as e:
        print(f"notebooks: {name}: {e}")
        return False
    finally:
        repl.close()
    if a.update:
        for k, (cell, outs) in enumerate(zip(code_cells, results)):
            cell["outputs"] = outs
            cell["execution_count"] = k + 1
        with open(path, "w") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"notebooks: {name}: {len(code_cells)} code cells ran in {total:.1f} s; outputs written into the notebook")
    elif ok:
        print(f"notebooks: {name}: {len(code_cells)} code cells ran in {total:.1f} s, every output as stored")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebooks", nargs="*")
    p.add_argument("--build", default="build", help="folder holding libamflow.so; work files go under it")
    p.add_argument("--update", action="store_true", help="store this run's outputs in the notebooks")
    p.add_argument("--repl", default="clang-repl-19")
    # No -O: at -O1 clang-repl-19 skipped the body of a top-level `for (...; i < v.size(); ...)`
    # over a global's vector without a word and crashed at exit; at -O0 (xeus-cpp's default)
    # it ran. The heavy work of the notebooks is in the compiled library anyway.
    p.add_argument("--repl-flags", default="", help="more compiler flags for the interpreter (each gets -Xcc=)")
    p.add_argument("--cell-timeout", type=float, default=300, help="seconds one input may take")
    a = p.parse_args()
    paths = a.notebooks or sorted(glob.glob("notebooks/*.ipynb"))
    if not paths:
        sys.exit("notebooks: no notebooks/*.ipynb")
    results = [run(n, a) for n in paths]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
