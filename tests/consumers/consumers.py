#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# heyes as a dependency: builds a tiny outside program via pkg-config, a meson subproject, or CMake.
"""consumers.py MODE --build-dir B --source-dir S --cc CC... --cxx CXX...

MODE is one of:
  pkgconfig  `meson install --destdir` the build into a temporary directory,
             compile consumer.cpp with `pkg-config --cflags --libs heyes`
             (--static for a static libheyes), and consumer.c (the C API)
             with the C compiler, run them; compile the README's quick start
             (examples/hello.cpp) the same way
  cmake      same install, then a CMake project doing find_package(heyes)
  meson      a meson project with heyes in subprojects/heyes (a symlink to
             this source tree), dependency('heyes') resolved by the
             subproject's meson.override_dependency
  installed  the same install, then checks what a user receives: the headers
             are exactly those of include/heyes/ (.hpp and the C API's .h) (the explicit list in
             include/heyes/meson.build misses none), no test aid or private
             header is among them, and no test-aid symbol is in the installed
             library (nm)
The consumers dial a listener of their own on 127.0.0.1 (an address literal,
no DNS); the C++ one's output must name 127.0.0.1 and this version, the C
one's 127.0.0.1 and heyes-c.

--flavour boost (a build with -Dasio=boost): the library, pkg-config module
and CMake package are heyes-boost; the consumer is consumer_boost.cpp on
Boost.Asio (output: 127.0.0.1 heyes-boost VERSION); there is no C consumer
and no quick start (the C API and hello.cpp are standalone Asio's).
Exit 0 pass, 1 fail, 77 skip (the tool the mode needs is missing).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
STEP_TIMEOUT = 240  # s, one configure/build/run step (the meson mode compiles heyes)


def step(cmd, env=None, cwd=None):
    """Runs one step, prints it; raises with its output when it fails."""
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError(f"step failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r.stdout


class Flavour:
    """What a build of one asio flavour installs and which consumers it has."""

    def __init__(self, name):
        self.boost = name == "boost"
        self.name = "heyes-boost" if self.boost else "heyes"  # library, .pc, CMake package
        self.consumer = "consumer_boost.cpp" if self.boost else "consumer.cpp"
        self.prefix = "consumer-boost-" if self.boost else "consumer-"

    def lib_file(self, f):
        return f.startswith(f"lib{self.name}.")


def find_file(root, name):
    for dirpath, _, files in os.walk(root):
        if name in files:
            return os.path.join(dirpath, name)
    raise RuntimeError(f"{name} not installed under {root}")


def install(opts, tmp):
    """meson install --destdir; returns (destdir, prefix inside it)."""
    dest = os.path.join(tmp, "dest")
    step(["meson", "install", "-C", opts.build_dir, "--destdir", dest, "--no-rebuild", "--quiet"])
    pc = find_file(dest, f"{opts.flavour.name}.pc")
    # .../<prefix>/<libdir>/pkgconfig/heyes.pc: read the prefix from the file.
    prefix = next(l.split("=", 1)[1].strip() for l in open(pc) if l.startswith("prefix="))
    return dest, dest + prefix


def project_dir(opts, tmp, build_file, build_name):
    src = os.path.join(tmp, "consumer")
    os.makedirs(src)
    shutil.copy(os.path.join(HERE, opts.flavour.consumer), src)
    shutil.copy(os.path.join(HERE, "consumer.c"), src)
    shutil.copy(os.path.join(HERE, opts.flavour.prefix + build_file), os.path.join(src, build_name))
    return src


def lib_env(opts, root):
    """LD_LIBRARY_PATH covering every directory under root holding the flavour's shared library."""
    so = f"lib{opts.flavour.name}.so"
    dirs = {d for d, _, files in os.walk(root) if any(f.startswith(so) for f in files)}
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(sorted(dirs) + [env.get("LD_LIBRARY_PATH", "")])
    return env


def via_pkgconfig(opts, tmp):
    dest, prefix = install(opts, tmp)
    name = opts.flavour.name
    pc_dir = os.path.dirname(find_file(dest, f"{name}.pc"))
    env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
    # As if installed in `prefix`: heyes.pc's paths are relative to ${prefix}.
    # A static libheyes needs its private requirements (fmt) at link time.
    shared = any(f.startswith(f"lib{name}.so") for _, _, files in os.walk(dest) for f in files)
    flags = step(["pkg-config", f"--define-variable=prefix={prefix}", "--cflags", "--libs", name]
                 + ([] if shared else ["--static"]), env=env).split()
    exe = os.path.join(tmp, "consumer")
    step(opts.cxx + ["-std=c++20", os.path.join(HERE, opts.flavour.consumer), "-o", exe] + flags)
    if opts.flavour.boost:
        return [exe], lib_env(opts, dest)
    # The C API with the C compiler (and so the C linker): heyes.pc must
    # bring the C++ runtime a static libheyes needs.
    exe_c = os.path.join(tmp, "consumer_c")
    step(opts.cc + ["-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(HERE, "consumer.c"), "-o", exe_c]
         + flags)
    # The README's quick start compiles examples/hello.cpp the same way.
    hello = os.path.join(opts.source_dir, "examples", "hello.cpp")
    step(opts.cxx + ["-std=c++20", hello, "-o", os.path.join(tmp, "hello")] + flags)
    return [exe, exe_c], lib_env(opts, dest)


def via_cmake(opts, tmp):
    _, prefix = install(opts, tmp)
    src = project_dir(opts, tmp, "CMakeLists.txt", "CMakeLists.txt")
    build = os.path.join(tmp, "build")
    step(["cmake", "-S", src, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
          f"-DCMAKE_CXX_COMPILER={opts.cxx[0]}", f"-DCMAKE_C_COMPILER={opts.cc[0]}"])
    step(["cmake", "--build", build])
    exes = [os.path.join(build, "consumer")] + ([] if opts.flavour.boost else [os.path.join(build, "consumer_c")])
    return exes, lib_env(opts, prefix)


def via_meson(opts, tmp):
    src = project_dir(opts, tmp, "meson.build", "meson.build")
    os.makedirs(os.path.join(src, "subprojects"))
    os.symlink(opts.source_dir, os.path.join(src, "subprojects", "heyes"))
    build = os.path.join(tmp, "build")
    # No installed heyes may win over the subproject: force the fallback.
    step(["meson", "setup", build, src, f"--force-fallback-for={opts.flavour.name}", "--buildtype=plain"],
         env=dict(os.environ, CXX=" ".join(opts.cxx), CC=" ".join(opts.cc)))
    step(["meson", "compile", "-C", build, "-j", "2"])
    exes = [os.path.join(build, "consumer")] + ([] if opts.flavour.boost else [os.path.join(build, "consumer_c")])
    return exes, lib_env(opts, build)


# Test aids live in testing/ and private headers in lib/: none may be installed.
FORBIDDEN_HEADERS = ("heyes/testing/", "heyes/dns/test_server.hpp", "heyes/dns/message.hpp")
# Demangled names of the test aids (testing/): none may be in the installed library.
FORBIDDEN_SYMBOLS = ("heyes::testing::", "heyes::dns::TestServer", "heyes::dns::TestAnswer")


def check_installed(opts, tmp):
    """Returns a list of problems with the installed headers and library."""
    dest, prefix = install(opts, tmp)
    include = os.path.join(prefix, "include")
    installed = {os.path.relpath(os.path.join(d, f), include)
                 for d, _, files in os.walk(os.path.join(include, "heyes")) for f in files}
    src = os.path.join(opts.source_dir, "include")
    expected = {os.path.relpath(os.path.join(d, f), src)
                for d, _, files in os.walk(os.path.join(src, "heyes")) for f in files
                if f.endswith((".hpp", ".h"))} | {"heyes/version.hpp"}
    problems = [f"installed but forbidden: {h}" for h in sorted(installed)
                if h.startswith(FORBIDDEN_HEADERS)]
    problems += [f"in include/heyes/ but not installed (add it to include/heyes/meson.build): {h}"
                 for h in sorted(expected - installed)]
    problems += [f"installed but not in include/heyes/: {h}" for h in sorted(installed - expected)]
    libs = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files
            if opts.flavour.lib_file(f) and not os.path.islink(os.path.join(d, f))]
    if not libs:
        problems.append(f"no lib{opts.flavour.name} installed")
    # The other flavour's names stay free, so both may be installed in one prefix.
    other = Flavour("standalone" if opts.flavour.boost else "boost")
    problems += [f"installed under the other flavour's name: {f}" for _, _, files in os.walk(dest) for f in files
                 if other.lib_file(f) or f in (f"{other.name}.pc", f"{other.name}Config.cmake")]
    for lib in libs:
        nm = ["nm", "-C"] + (["-D", "--defined-only"] if ".so" in lib else ["--defined-only"])
        symbols = step(nm + [lib])
        bad = sorted({l.split(" ", 2)[-1] for l in symbols.splitlines()
                      if any(s in l for s in FORBIDDEN_SYMBOLS)})
        problems += [f"{os.path.basename(lib)}: test-aid symbol {b}" for b in bad[:10]]
    print(f"{len(installed)} headers and {len(libs)} libraries checked")
    return problems


MODES = {"pkgconfig": (via_pkgconfig, "pkg-config"), "cmake": (via_cmake, "cmake"),
         "meson": (via_meson, "meson"), "installed": (check_installed, "nm")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--cc", nargs="+", default=["cc"])
    ap.add_argument("--cxx", nargs="+", default=["c++"])
    ap.add_argument("--flavour", choices=["standalone", "boost"], default="standalone")
    opts = ap.parse_args()
    opts.flavour = Flavour(opts.flavour)
    build_consumer, tool = MODES[opts.mode]
    if shutil.which(tool) is None:
        print(f"SKIP: {tool} not installed")
        return SKIP
    tmp = tempfile.mkdtemp(prefix=f"heyes-consumer-{opts.mode}-")
    try:
        if opts.mode == "installed":
            problems = build_consumer(opts, tmp)
            for p in problems:
                print(f"FAIL: {p}")
            return 1 if problems else 0
        exes, env = build_consumer(opts, tmp)
        expected = [["127.0.0.1", opts.flavour.name, opts.version], ["127.0.0.1", "heyes-c"]]
        status = 0
        for exe, want in zip(exes, expected):
            out = step([exe], env=env)
            print(out, end="")
            if out.split() != want:
                print(f"FAIL: {os.path.basename(exe)}: unexpected output {out!r}")
                status = 1
        return status
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"FAIL: {err}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
