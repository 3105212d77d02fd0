#!/usr/bin/env python3
"""The repository stands on its own: checks over every tracked file (run by make test).

1. No tracked file refers to a path outside the repository: not the sibling
   folder of reference notes next to a checkout, no
   absolute path into a user's or this machine's folders (/work/, /home/, /root/),
   no citation of the sections of DESIGN.md (a document that lived outside it;
   docs/design.md replaces it), and, outside Markdown, no relative path (../...) that climbs above the
   repository's root from the folder of the file that names it (Markdown prose may
   name paths relative to other folders; its links are checked by 2).
2. Every relative link of the Markdown files (and of the notebooks' Markdown
   cells), [text](target) or ![alt](target), resolves to a tracked file or to a
   folder holding tracked files; a #fragment must name a heading of the target.
3. Every reference `docs/design.md#fragment` in any tracked file names a heading of
   docs/design.md, and every source file under src/ names its section in its
   first comment block (`Design: docs/design.md#...`).

Standard library only. Prints one line per problem ("FILE:LINE: what") and a
summary; exits 1 if anything was found.

    python3 scripts/check_repo.py [--root DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys

TEXT_SUFFIXES = (".md", ".hpp", ".cpp", ".cu", ".h", ".py", ".sh", ".ipynb", ".txt", ".json", ".jsonl", ".in", ".pc",
                 ".yml", ".yaml", ".cfg", ".toml")
TEXT_NAMES = ("Makefile", "run", ".gitignore", "README")
# the sibling folder of reference notes beside a checkout, spelt in two parts
# so that this file does not itself name it
SIBLING = "../" + "shared"
OUTSIDE = [
    (re.compile(re.escape(SIBLING) + r"\b"), "refers to " + SIBLING + ", a folder outside the repository"),
    (re.compile(r"(?<![\w.])/(?:work|home|root)/[\w.+-]"), "names an absolute path outside the repository"),
    (re.compile(r"\bDESIGN(?:\.md)?,? \d"), "cites a section of DESIGN.md, a document outside the repository "
                                             "(cite docs/design.md#section)"),
]
RELATIVE = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.+-][\w./+-]*)")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DESIGN_REF = re.compile(r"docs/design\.md#([\w-]+)")
DESIGN_POINTER = re.compile(r"Design: docs/design\.md#[\w-]+")
FENCE = re.compile(r"^\s*(```|~~~)")


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True, capture_output=True).stdout
        return sorted(p for p in out.decode().split("\0") if p)
    except (OSError, subprocess.CalledProcessError):
        sys.exit("check_repo: %s is not a git checkout (git ls-files failed)" % root)


def is_text(path):
    name = os.path.basename(path)
    return name.endswith(TEXT_SUFFIXES) or name in TEXT_NAMES


def slug(heading):
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    h = re.sub(r"`|\*\*|__", "", heading.strip().lower())
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)        # a link keeps its text
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors_of(text):
    seen, out = {}, set()
    in_code = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        m = None if in_code else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            a = slug(m.group(1))
            n = seen.get(a, 0)
            seen[a] = n + 1
            out.add(a if n == 0 else "%s-%d" % (a, n))
    return out


def markdown_lines(path, text):
    """(line number, line) of the Markdown outside fenced code; for a notebook, its Markdown cells."""
    if path.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except ValueError:
            return []
        lines = []
        for c in cells:
            if c.get("cell_type") == "markdown":
                src = c.get("source", "")
                lines += (src if isinstance(src, list) else src.splitlines(True))
        text = "".join(lines)
    out, in_code = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if not in_code:
            out.append((n, re.sub(r"`[^`]*`", "", line)))   # inline code is not a link
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    root = os.path.realpath(ap.parse_args().root)
    files = tracked_files(root)
    tracked = set(files)
    folders = {os.path.dirname(p) for p in files}
    for p in list(folders):
        while p:
            p = os.path.dirname(p)
            folders.add(p)
    texts = {}
    for p in files:
        if is_text(p) and os.path.isfile(os.path.join(root, p)):
            with open(os.path.join(root, p), encoding="utf-8", errors="replace") as f:
                texts[p] = f.read()
    anchor_cache = {}

    def anchors(p):
        if p not in anchor_cache:
            anchor_cache[p] = anchors_of(texts.get(p, ""))
        return anchor_cache[p]

    problems = []
    this = os.path.relpath(os.path.abspath(__file__), root)
    # 1. paths outside the repository
    for p, text in texts.items():
        if p == this:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for pattern, what in OUTSIDE:
                if pattern.search(line):
                    problems.append("%s:%d: %s: %s" % (p, n, what, line.strip()[:120]))
            for m in RELATIVE.finditer(line) if not p.endswith(".md") else ():   # Markdown: its links, below
                target = os.path.normpath(os.path.join(os.path.dirname(p), m.group(1)))
                if target == ".." or target.startswith("../"):
                    problems.append("%s:%d: '%s' climbs above the repository's root" % (p, n, m.group(1)))
    # 2. Markdown links
    for p, text in texts.items():
        if not p.endswith((".md", ".ipynb")):
            continue
        for n, line in markdown_lines(p, text):
            for m in LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):    # http:, https:, mailto:
                    continue
                path, _, frag = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(p), path)) if path else p
                where = "%s:%d: link '%s'" % (p, n, target)
                if dest == ".." or dest.startswith("../") or os.path.isabs(path):
                    problems.append(where + " points outside the repository")
                elif dest not in tracked and dest not in folders and dest != ".":
                    problems.append(where + ": no tracked file or folder %s" % dest)
                elif frag and dest.endswith(".md") and frag not in anchors(dest):
                    problems.append(where + ": %s has no heading with the anchor #%s" % (dest, frag))
    # 3. design references and pointers
    design = "docs/design.md"
    for p, text in texts.items():
        if p == this:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in DESIGN_REF.finditer(line):
                if design not in tracked:
                    problems.append("%s:%d: refers to %s, which is not in the repository" % (p, n, design))
                elif m.group(1) not in anchors(design):
                    problems.append("%s:%d: %s has no heading with the anchor #%s" % (p, n, design, m.group(1)))
    for p in files:
        if p.startswith("src/") and p.endswith((".hpp", ".cpp", ".cu")):
            head = []
            for line in texts.get(p, "").splitlines():
                if not line.startswith("//"):
                    break
                head.append(line)
            if not DESIGN_POINTER.search("\n".join(head)):
                problems.append("%s:1: its first comment block does not name its section "
                                "('// Design: docs/design.md#section')" % p)

    for line in problems:
        print("check_repo: " + line)
    print("check_repo: %d tracked files, %d text files checked: %s" %
          (len(files), len(texts), "%d problem(s)" % len(problems) if problems else "no problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
