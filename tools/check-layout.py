#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Layout checks: module race depends on no dns/ or select/ header; <heyes/dial.hpp> stays a small front door.
"""check-layout.py CHECK [--source-dir S] [--build-dir B] [--cxx CXX...]

CHECK is one of:
  race-deps     no file in lib/race/ or include/heyes/race/ includes a header
                from dns/ or select/ (the race core knows nothing of how
                addresses are found or ordered)
  dial-headers  a translation unit with only `#include <heyes/dial.hpp>` pulls
                in at most MAX_DIAL_HEADERS heyes headers (dial.hpp included,
                heyes/detail/ not counted: it stands in for asio's includes),
                none of them from heyes/dns/ or heyes/race/, nor
                heyes/select/sort.hpp or heyes/select/connectivity.hpp
                (counted by the compiler: -H lists every header it opens;
                the flags are a user's, from the build's heyes-uninstalled.pc)
Run from anywhere; the defaults are this source tree, its ./build and $CXX or c++.
Exit 0 pass, 1 fail.
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')

# The public front door: what `#include <heyes/dial.hpp>` may bring with it.
MAX_DIAL_HEADERS = 8
DIAL_FORBIDDEN_DIRS = ("heyes/dns/", "heyes/race/")
DIAL_FORBIDDEN_FILES = ("heyes/select/sort.hpp", "heyes/select/connectivity.hpp")
# Not counted: heyes/detail/asio.hpp stands in for asio's own includes (it
# picks standalone Asio or Boost.Asio); it brings no heyes concept along.
DIAL_UNCOUNTED_DIRS = ("heyes/detail/",)


def race_deps(opts):
    """Problems: includes of dns/ or select/ headers by module race."""
    problems = []
    for folder in ("lib/race", "include/heyes/race"):
        root = os.path.join(opts.source_dir, folder)
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith((".hpp", ".cpp", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
                    m = INCLUDE.match(line)
                    if m and {"dns", "select"} & set(m.group(1).split("/")[:-1]):
                        rel = os.path.relpath(path, opts.source_dir)
                        problems.append(f"{rel}:{lineno}: module race includes {m.group(1)}")
    print("race-deps: lib/race/ and include/heyes/race/ checked")
    return problems


def user_cflags(opts):
    """A user's compile flags: heyes.pc of the build tree (meson-uninstalled/)."""
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(opts.build_dir, "meson-uninstalled"))
    r = subprocess.run(["pkg-config", "--cflags", "heyes-uninstalled"], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"pkg-config --cflags heyes-uninstalled (in {opts.build_dir}): {r.stderr.strip()}")
    return r.stdout.split()


def heyes_headers_of(opts, header):
    """The heyes headers (as heyes/...) that a TU holding only #include <header> opens."""
    include_dirs = [os.path.join(opts.source_dir, "include"), os.path.join(opts.build_dir, "include")]
    cmd = opts.cxx + ["-std=c++20", "-H", "-fsyntax-only", "-x", "c++", "-"] + user_cflags(opts)
    cmd += [f"-I{d}" for d in include_dirs]
    r = subprocess.run(cmd, input=f"#include <{header}>\n", capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-4000:]}")
    found = []
    for line in r.stderr.splitlines():  # -H: ". path", ".. path", ... one per header opened
        m = re.match(r"^\.+ (.+)$", line)
        if not m:
            continue
        path = os.path.normpath(m.group(1))
        for d in include_dirs:
            rel = os.path.relpath(path, os.path.normpath(d))
            if rel.startswith("heyes/") and rel not in found:
                found.append(rel)
    return found


def dial_headers(opts):
    """Problems: too many heyes headers, or forbidden ones, behind <heyes/dial.hpp>."""
    found = [h for h in heyes_headers_of(opts, "heyes/dial.hpp") if not h.startswith(DIAL_UNCOUNTED_DIRS)]
    print(f"dial-headers: <heyes/dial.hpp> pulls in {len(found)} heyes headers "
          f"(at most {MAX_DIAL_HEADERS}):")
    for h in found:
        print(f"  {h}")
    problems = []
    if len(found) > MAX_DIAL_HEADERS:
        problems.append(f"<heyes/dial.hpp> pulls in {len(found)} heyes headers, more than {MAX_DIAL_HEADERS}")
    problems += [f"<heyes/dial.hpp> pulls in {h}" for h in found
                 if h.startswith(DIAL_FORBIDDEN_DIRS) or h in DIAL_FORBIDDEN_FILES]
    return problems


CHECKS = {"race-deps": race_deps, "dial-headers": dial_headers}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check", choices=CHECKS)
    ap.add_argument("--source-dir", default=os.path.dirname(HERE))
    ap.add_argument("--build-dir", default=os.path.join(os.path.dirname(HERE), "build"))
    ap.add_argument("--cxx", nargs="+", default=[os.environ.get("CXX", "c++")])
    opts = ap.parse_args()
    try:
        problems = CHECKS[opts.check](opts)
    except (RuntimeError, OSError) as err:
        problems = [str(err)]
    for p in problems:
        print(f"FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
