#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The house rules a reviewer would otherwise check by eye, one per command:

  check_house_rules.py SOURCE_ROOT spdx            every source file carries the license line
  check_house_rules.py SOURCE_ROOT format          clang-format --dry-run --Werror is clean
  check_house_rules.py SOURCE_ROOT design-doc      docs/design.md names every engine file and its job
  check_house_rules.py SOURCE_ROOT property-docs   short property blurbs, detail in gtk-doc blocks
  check_house_rules.py SOURCE_ROOT include-floors  no engine include points up a floor

Each prints every offender (file and line, with what to do) and exits 1 when
there is one, 0 when there is none, 77 (skipped) when a tool it needs is
missing. Files are those git tracks or would track (not ignored) when SOURCE_ROOT is a checkout (so a
build directory inside it is never read), else every file below it.
"""

import os
import re
import shutil
import subprocess
import sys

LICENSE = "LGPL-2.1-or-later"
SPDX_LINE = "SPDX-License-Identifier: " + LICENSE
# The license line must come before any code: within the first lines, after a
# shebang or an HTML doctype at most.
SPDX_HEAD_LINES = 3

C_SUFFIXES = (".c", ".cpp", ".h")
SOURCE_SUFFIXES = C_SUFFIXES + (".py", ".sh", ".mjs", ".js", ".html")
SOURCE_NAMES = ("meson.build", "meson_options.txt")
# Third-party or generated trees that are not ours to mark.
SKIPPED_DIRS = ("node_modules", ".git", "subprojects")
FORMATTED_DIRS = ("src", "gst", "tests", "pipelines", "tools")

SKIP = 77


def project_files(root):
    try:
        listed = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], check=True,
                                capture_output=True).stdout.decode()
        paths = [p for p in listed.split("\0") if p]
        return sorted(p for p in paths if os.path.isfile(os.path.join(root, p)))
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("build")]
            paths += [os.path.relpath(os.path.join(top, f), root) for f in files]
        return sorted(paths)


def in_skipped_dir(path):
    return any(part in SKIPPED_DIRS for part in path.split("/"))


def has_shebang(full_path):
    try:
        with open(full_path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def is_source(root, path):
    if in_skipped_dir(path):
        return False
    name = os.path.basename(path)
    if name in SOURCE_NAMES or name.endswith(SOURCE_SUFFIXES):
        return True
    # Scripts without a suffix (.ci/run).
    return "." not in name and has_shebang(os.path.join(root, path))


def check_spdx(root):
    missing = []
    for path in project_files(root):
        if not is_source(root, path):
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as handle:
            head = [handle.readline() for _ in range(SPDX_HEAD_LINES)]
        if not any(SPDX_LINE in line for line in head):
            missing.append(path)
    for path in missing:
        print("%s:1: no '%s' line in its first %d lines (add it as a comment)"
              % (path, SPDX_LINE, SPDX_HEAD_LINES))
    return 1 if missing else 0


def check_format(root):
    tool = shutil.which("clang-format")
    if not tool:
        print("clang-format not found (Debian: apt-get install clang-format)")
        return SKIP
    paths = [p for p in project_files(root)
             if p.split("/")[0] in FORMATTED_DIRS and p.endswith(C_SUFFIXES)
             and not in_skipped_dir(p)]
    if not paths:
        print("no C/C++ file found under %s" % ", ".join(FORMATTED_DIRS))
        return 1
    bad = []
    # A few hundred files per call keeps the command line short enough.
    for start in range(0, len(paths), 200):
        batch = paths[start:start + 200]
        result = subprocess.run([tool, "--dry-run", "--Werror", "--style=file"] + batch,
                                cwd=root, capture_output=True, text=True)
        if result.returncode != 0:
            for line in result.stderr.splitlines():
                match = re.match(r"^(.+?):(\d+):\d+: error:", line)
                if match and match.group(1) not in [b[0] for b in bad]:
                    bad.append((match.group(1), match.group(2)))
            if not bad:
                print(result.stderr.strip())
                return 1
    for path, line in bad:
        print("%s:%s: not formatted as .clang-format says (run clang-format -i %s)"
              % (path, line, path))
    return 1 if bad else 0


def expand_braces(name):
    """'frame_queue.{h,cpp}' -> ['frame_queue.h', 'frame_queue.cpp']."""
    match = re.search(r"\{([^}]*)\}", name)
    if not match:
        return [name]
    names = []
    for choice in match.group(1).split(","):
        names += expand_braces(name[:match.start()] + choice + name[match.end():])
    return names


def design_doc_rows(text):
    """Rows of the tables whose first header cell is 'engine file': (line, names, job)."""
    rows = []
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0].lower() == "engine file":
            in_table = True
            continue
        if not in_table or set(cells[0]) <= set("-: "):
            continue
        names = []
        for quoted in re.findall(r"`([^`]+)`", cells[0]):
            names += expand_braces(quoted)
        job = cells[1] if len(cells) > 1 else ""
        rows.append((number, names, job))
    return rows


def check_design_doc(root):
    doc_path = os.path.join(root, "docs", "design.md")
    with open(doc_path, encoding="utf-8") as handle:
        rows = design_doc_rows(handle.read())
    if not rows:
        print("docs/design.md:1: no table with an 'engine file' column")
        return 1
    engine_files = {p[len("src/"):] for p in project_files(root)
                    if p.startswith("src/") and os.path.basename(p) != "meson.build"}
    problems = []
    named = set()
    for number, names, job in rows:
        if not names:
            problems.append("docs/design.md:%d: a row that names no `file`" % number)
        if len(re.sub(r"[`|\s]", "", job)) < 10:
            problems.append("docs/design.md:%d: %s has no job written beside it"
                            % (number, ", ".join(names)))
        for name in names:
            if name not in engine_files:
                problems.append("docs/design.md:%d: names src/%s, which does not exist"
                                % (number, name))
            named.add(name)
    for name in sorted(engine_files - named):
        problems.append("src/%s:1: not in docs/design.md's table of engine files and their jobs"
                        % name)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


PARAM_SPEC = re.compile(r"g_param_spec_\w+\s*\(\s*\"([a-z0-9-]+)\"\s*,\s*\"[^\"]*\"\s*,\s*"
                        r"((?:\"(?:[^\"\\]|\\.)*\"\s*)+),")
DOC_BLOCK = re.compile(r"/\*\*(.*?)\*/", re.S)
MAX_BLURB_SENTENCES = 2
MAX_BLURB_CHARS = 200


def blurb_sentences(blurb):
    # A full stop that ends a sentence is followed by a space and a capital
    # (not "e.g. 3" or "0.0.0.0").
    return len(re.split(r"(?<=[.!?])\s+(?=[A-Z])", blurb.strip()))


def check_property_docs(root):
    element = os.path.join(root, "gst", "gstmjpeghttpsink.cpp")
    with open(element, encoding="utf-8") as handle:
        text = handle.read()
    blocks = {}
    for block in DOC_BLOCK.finditer(text):
        body = "\n".join(line.strip().lstrip("*").strip() for line in block.group(1).splitlines())
        match = re.search(r"GstMjpegHttpSink:([a-z0-9-]+):", body)
        if match and "::" not in match.group(0):
            blocks[match.group(1)] = (block.end(), body)
    problems = []
    specs = list(PARAM_SPEC.finditer(text))
    if not specs:
        print("gst/gstmjpeghttpsink.cpp:1: no g_param_spec_*() call found")
        return 1
    for spec in specs:
        name = spec.group(1)
        line = text.count("\n", 0, spec.start()) + 1
        blurb = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", spec.group(2)))
        where = "gst/gstmjpeghttpsink.cpp:%d: property %s" % (line, name)
        if blurb_sentences(blurb) > MAX_BLURB_SENTENCES or len(blurb) > MAX_BLURB_CHARS:
            problems.append("%s: its description is over %d sentences or %d characters; "
                            "keep it short and put the detail in its gtk-doc block"
                            % (where, MAX_BLURB_SENTENCES, MAX_BLURB_CHARS))
        block = blocks.get(name)
        if block is None:
            problems.append("%s: no gtk-doc block (/** GstMjpegHttpSink:%s: ... Since: 0.1 */) "
                            "above it" % (where, name))
            continue
        end, body = block
        if end > spec.start() or text[end:spec.start()].count("g_param_spec_") > 0:
            problems.append("%s: its gtk-doc block is not the one right above it" % where)
        if not re.search(r"^Since: \d+\.\d+$", body, re.M):
            problems.append("%s: its gtk-doc block has no 'Since: 0.1' line" % where)
        detail = re.sub(r"GstMjpegHttpSink:[a-z0-9-]+:|Since: [\d.]+", "", body).strip()
        if not detail:
            problems.append("%s: its gtk-doc block says nothing beyond its name" % where)
    for name in sorted(set(blocks) - {s.group(1) for s in specs}):
        problems.append("gst/gstmjpeghttpsink.cpp: a gtk-doc block for %s, which is no property"
                        % name)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


# The engine's parts, lowest first: a file in src/PART includes only from its
# own part and the ones below it; the engine itself (src/*) sits on top.
FLOORS = ["base", "stats", "stream", "http", ""]


def floor_of(src_relative):
    part = src_relative.split("/")[0] if "/" in src_relative else ""
    return FLOORS.index(part) if part in FLOORS else None


def check_include_floors(root):
    problems = []
    edges = set()
    for path in project_files(root):
        if not path.startswith("src/") or not path.endswith(C_SUFFIXES):
            continue
        own = floor_of(path[len("src/"):])
        if own is None:
            problems.append("%s:1: in no part of the engine (%s)"
                            % (path, ", ".join("src/" + f for f in FLOORS if f)))
            continue
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                match = re.match(r'#include "([^"]+)"', line)
                if not match:
                    continue
                target = match.group(1)
                if not os.path.exists(os.path.join(root, "src", target)):
                    if not os.path.exists(os.path.join(os.path.dirname(os.path.join(root, path)),
                                                       target)):
                        continue  # generated (config.h) or not the engine's
                    problems.append("%s:%d: includes \"%s\" by a relative name; name it from "
                                    "src/ (\"part/file.h\")" % (path, number, target))
                    continue
                theirs = floor_of(target)
                edges.add((FLOORS[own] or "engine", FLOORS[theirs] or "engine"))
                if theirs > own:
                    problems.append("%s:%d: includes %s, a floor up (%s above %s)"
                                    % (path, number, target, FLOORS[theirs] or "the engine",
                                       FLOORS[own] or "the engine"))
    for problem in problems:
        print(problem)
    if not problems:
        print("floors, lowest first: %s" % " < ".join(f or "engine" for f in FLOORS))
        print("includes between parts: %s" % ", ".join(
            "%s -> %s" % edge for edge in sorted(edges) if edge[0] != edge[1]))
    return 1 if problems else 0


CHECKS = {
    "spdx": check_spdx,
    "format": check_format,
    "design-doc": check_design_doc,
    "property-docs": check_property_docs,
    "include-floors": check_include_floors,
}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CHECKS:
        print("usage: check_house_rules.py SOURCE_ROOT {%s}" % ",".join(CHECKS), file=sys.stderr)
        return 2
    result = CHECKS[sys.argv[2]](sys.argv[1])
    if result == 0:
        print("%s: clean" % sys.argv[2])
    return result


if __name__ == "__main__":
    sys.exit(main())
