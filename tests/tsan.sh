#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ThreadSanitizer run: configures build-tsan (-Db_sanitize=thread), builds it and
# runs the dns and dial suites (the resolver, the dial API, the load test and the
# multi-threaded stress test) under the 'tsan' test setup; prints how long it took.
#   tests/tsan.sh                 # everything in the dns and dial suites
#   tests/tsan.sh TEST...         # only these tests (and only what they need is built)
# From the source root; HEYES_TSAN_BUILD_DIR and HEYES_JOBS override.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${HEYES_TSAN_BUILD_DIR:-build-tsan}"
start=$(date +%s)

if [ ! -f "$dir/build.ninja" ]; then
  # b_lundef=false: the sanitizer runtime is linked into executables only.
  # ASIO_DISABLE_FENCED_BLOCK: asio's handler fences are std::atomic_thread_fence,
  # which TSan does not model (g++ rejects it with -Werror=tsan); the scheduler's
  # mutexes already order handler memory, and TSan sees those.
  # -O1 -g1: TSan wants some optimisation; line tables are enough for its reports.
  meson setup "$dir" -Db_sanitize=thread -Db_lundef=false -Dbenchmarks=false -Dwerror=true \
    -Doptimization=1 -Ddebug=false -Dcpp_args="-DASIO_DISABLE_FENCED_BLOCK -g1" >/dev/null
fi
status=0
if (($#)); then
  # Build only the programs these tests run and the ones they take as
  # arguments (heyes-test-dns); several tests can share one.
  mapfile -t programs < <(meson introspect "$dir" --tests --targets | python3 -c '
import json, os, sys
names, root = set(sys.argv[2:]), os.path.abspath(sys.argv[1])
info = json.load(sys.stdin)
tests = [t for t in info["tests"] if t["name"] in names]
missing = names - {t["name"] for t in tests}
if missing:
    sys.exit("tsan: no such test: " + ", ".join(sorted(missing)))
executables = {t["id"]: t["filename"] for t in info["targets"] if t["type"] in ("executable", "shared library")}
files = {t["cmd"][0] for t in tests if t["cmd"][0].startswith(root + os.sep)}
files |= {f for t in tests for d in t["depends"] for f in executables.get(d, [])}
print("\n".join(sorted({os.path.relpath(f, root) for f in files})))' "$dir" "$@")
  ((${#programs[@]})) || exit 1
  ninja -C "$dir" -j "${HEYES_JOBS:-2}" "${programs[@]}" >/dev/null
  meson test -C "$dir" --setup tsan --no-rebuild --print-errorlogs "$@" || status=$?
else
  meson compile -C "$dir" -j "${HEYES_JOBS:-2}"
  meson test -C "$dir" --setup tsan --suite dns --suite dial --print-errorlogs || status=$?
fi
echo "tsan: $(( $(date +%s) - start )) s (build and tests), exit $status"
exit "$status"
