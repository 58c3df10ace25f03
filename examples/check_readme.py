#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks that every README code block marked `<!-- example: PATH -->` is a verbatim excerpt of PATH.
"""check_readme.py README SOURCE_ROOT

A README block that follows a line `<!-- example: examples/foo.cpp -->` must
appear in that file as a contiguous run of lines, so the README shows only code
that the build compiles and the tests run. Fails when a marked block is not
found, or when no block is marked at all.
"""

import os
import re
import sys

MARK = re.compile(r"<!-- example: (\S+) -->")


def marked_blocks(lines):
    """(path, block lines, README line number) for every marked fenced block."""
    for i, line in enumerate(lines):
        m = MARK.search(line)
        if not m or i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            continue
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is not None:
            yield m.group(1), lines[i + 2:end], i + 1


def contains(haystack, needle):
    n = len(needle)
    return any(haystack[k:k + n] == needle for k in range(len(haystack) - n + 1))


def main():
    readme, root = sys.argv[1], sys.argv[2]
    lines = [l.rstrip() for l in open(readme, encoding="utf-8")]
    count, bad = 0, 0
    for path, block, lineno in marked_blocks(lines):
        count += 1
        try:
            source = [l.rstrip() for l in open(os.path.join(root, path), encoding="utf-8")]
        except OSError as err:
            print(f"{readme}:{lineno}: {path}: {err.strerror}")
            bad += 1
            continue
        if not contains(source, block):
            print(f"{readme}:{lineno}: the block is not an excerpt of {path}")
            bad += 1
    print(f"{count} README example blocks checked, {bad} stale")
    return 1 if bad or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
