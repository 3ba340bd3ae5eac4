#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a C++ source defining `const char NAME[]` (and NAME##Size) with the
bytes of a text file, so a file edited as itself (HTML, CSS) is compiled into
the binary.

Usage: embed_text.py INPUT OUTPUT NAME
"""
import sys


def literal_line(line):
    out = []
    for byte in line:
        char = chr(byte)
        if char in '"\\?' or byte < 0x20 or byte > 0x7e:
            # Three-digit octal: unlike \x, it cannot swallow a following digit.
            out.append("\\%03o" % byte)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def main():
    source, output, name = sys.argv[1:4]
    with open(source, "rb") as f:
        data = f.read()
    lines = [literal_line(line) for line in data.splitlines(keepends=True)] or ['""']
    with open(output, "w") as f:
        f.write("// Generated from %s by embed_text.py: edit that file instead.\n" % source.split("/")[-1])
        f.write("#include <cstddef>\n\nnamespace mjpeghttp {\n\n")
        f.write("extern const char %s[];\nextern const size_t %sSize;\n\n" % (name, name))
        f.write("const char %s[] =\n    %s;\n" % (name, "\n    ".join(lines)))
        f.write("const size_t %sSize = %d;\n\n}  // namespace mjpeghttp\n" % (name, len(data)))


if __name__ == "__main__":
    main()
