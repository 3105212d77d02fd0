#!/usr/bin/env python3
"""Tests of scripts/run_notebooks.py (make test; docs/design.md#tests-notebooks-benchmarks):
tiny notebooks run by clang-repl-19 through the runner. A good one (a struct,
a free function, multi-line statements, a picture) is stored with --update and
then passes the check; each broken one must fail naming the notebook and the
cell: a compile error, a throwing cell, a missing picture, an empty picture,
a number beyond the cell's tolerance. A number within it passes.

  python3 scripts/test_run_notebooks.py [--repl clang-repl-19]
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "run_notebooks.py")

# a 1x1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

SETUP = """#include <cstdio>
#include <stdexcept>
#include <string>
#include "xcpp/xdisplay.hpp"
"""
DECLS = """// a struct, a free function and multi-line statements, at top level
struct Point {
    double x, y;
    double norm2() const { return x * x + y * y; }
};
double total(const Point* p, int n, double scale = 1.0) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += p[i].norm2();
    return s * scale;
}
const Point pts[] = {{1, 2}, {3, 4}};
int odd = 0; for (int k = 0; k < 5; ++k) { if (k % 2) odd++; else odd += 0; }
std::printf("total %.2f, odd %d\\n",
            total(pts, 2), odd);
"""
PICTURE = """struct Picture { std::string b64; };
nlohmann::json mime_bundle_repr(const Picture& p) {
    nlohmann::json bundle;
    bundle["image/png"] = p.b64;
    return bundle;
}
std::printf("a picture:\\n");
xcpp::display(Picture{"%s"});
""" % PNG
RESULT = 'std::printf("loss %.2f after training\\n", 1.0);\n'


def notebook(*cells):
    nb = {"cells": [], "metadata": {"kernelspec": {"display_name": "C++17", "language": "C++17", "name": "xcpp17"}},
          "nbformat": 4, "nbformat_minor": 5}
    for src in cells:
        meta = {}
        if isinstance(src, tuple):
            src, meta = src
        nb["cells"].append({"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
                            "source": src.splitlines(keepends=True)})
    return nb


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repl", default="clang-repl-19")
    ap.add_argument("--verbose", action="store_true", help="print every run of the runner")
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        build = os.path.join(tmp, "build")

        def runner(nb, name, update=False):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                json.dump(nb, f, indent=1)
            cmd = [sys.executable, RUNNER, "--build", build, "--repl", a.repl, 
                   "--cell-timeout", "60", path] + (["--update"] if update else [])
            r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            with open(path) as f:
                return r.returncode, r.stdout + r.stderr, json.load(f)

        def expect(case, rc, out, fail, *words):
            bad = (rc == 0) == fail or not all(w in out for w in words)
            if a.verbose:
                print(out)
            print(f"test_run_notebooks: {case}: {'FAILED' if bad else 'ok'}")
            if bad:
                failures.append(case)
                print("  runner exit %d, expected %s containing %s; its output:\n    %s"
                      % (rc, "a failure" if fail else "success", words, out.strip().replace("\n", "\n    ")))

        # the good notebook: stored with --update, then checked
        rc, out, good = runner(notebook(SETUP, DECLS, PICTURE, (RESULT, {"amflow": {"atol": 0.1, "rtol": 0}})),
                               "good.ipynb", update=True)
        expect("good notebook, --update", rc, out, False, "outputs written")
        kinds = [[o["output_type"] for o in c["outputs"]] for c in good["cells"]]
        texts = ["".join("".join(o.get("text", [])) for o in c["outputs"]) for c in good["cells"]]
        ok = kinds == [[], ["stream"], ["stream", "display_data"], ["stream"]] and \
            texts[1] == "total 30.00, odd 2\n" and \
            good["cells"][2]["outputs"][1]["data"] == {"image/png": PNG}
        print(f"test_run_notebooks: good notebook, stored outputs: {'ok' if ok else 'FAILED'}")
        if not ok:
            failures.append("stored outputs")
            print(f"  output types {kinds}, texts {texts}")
        if failures:
            sys.exit("test_run_notebooks: FAILED (the good notebook did not run; the other cases need it)")
        rc, out, _ = runner(good, "good.ipynb")
        expect("good notebook, check", rc, out, False, "every output as stored")

        # a number within the cell's tolerance (0.1) passes; one beyond it fails
        nb = copy.deepcopy(good)
        nb["cells"][3]["outputs"][0]["text"] = ["loss 1.05 after training\n"]
        rc, out, _ = runner(nb, "within.ipynb")
        expect("number within tolerance", rc, out, False, "every output as stored")
        nb["cells"][3]["outputs"][0]["text"] = ["loss 1.50 after training\n"]
        rc, out, _ = runner(nb, "beyond.ipynb")
        expect("number beyond tolerance", rc, out, True, "beyond.ipynb: code cell 4", "beyond its tolerance")
        nb = copy.deepcopy(good)
        nb["cells"][1]["outputs"][0]["text"] = ["total 30.01, odd 2\n"]
        rc, out, _ = runner(nb, "changed.ipynb")
        expect("changed number, no tolerance", rc, out, True, "changed.ipynb: code cell 2", "differs")

        # a compile error
        plain = "#include <cstdio>\n#include <stdexcept>\n"  # no JSON header: a faster start
        rc, out, _ = runner(notebook(plain, "int fine = 1;\nint broken = not_declared + 1;\n"), "compile.ipynb")
        expect("compile error", rc, out, True, "compile.ipynb: code cell 2, line 2", "not_declared")

        # a cell that throws
        rc, out, _ = runner(notebook(plain, 'std::printf("before\\n");\nthrow std::runtime_error("boom");\n'),
                            "throws.ipynb")
        expect("throwing cell", rc, out, True, "throws.ipynb: code cell 2, line 2", "boom")

        # a picture stored but not produced any more
        nb = copy.deepcopy(good)
        nb["cells"][2]["source"] = [l for l in nb["cells"][2]["source"] if "xcpp::display" not in l]
        rc, out, _ = runner(nb, "nopicture.ipynb")
        expect("missing picture", rc, out, True, "nopicture.ipynb: code cell 3", "picture is missing")

        # a picture produced but empty
        nb = copy.deepcopy(good)
        nb["cells"][2]["source"] = [l.replace(PNG, "") for l in nb["cells"][2]["source"]]
        rc, out, _ = runner(nb, "empty.ipynb")
        expect("empty picture", rc, out, True, "empty.ipynb: code cell 3", "not a PNG")

        # a picture never stored
        nb = copy.deepcopy(good)
        nb["cells"][2]["outputs"] = nb["cells"][2]["outputs"][:1]
        rc, out, _ = runner(nb, "unstored.ipynb")
        expect("picture not stored", rc, out, True, "unstored.ipynb: code cell 3", "NB_UPDATE=1")

    print(f"test_run_notebooks: {'FAILED: ' + ', '.join(failures) if failures else 'all cases as expected'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
