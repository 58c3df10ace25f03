#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the fuzz configuration (clang, libFuzzer, ASan+UBSan) and runs every
# fuzz target for SECONDS (default 60) each, starting from its checked-in seed
# corpus. Exits non-zero if any target crashes, leaks, times out or runs out
# of memory; the input that did it is left in BUILD/fuzz-artifacts/<target>/.
# Prints one line per target: executions, libFuzzer's cov: figure, corpus size.
#   tests/fuzz/run.sh 60            HEYES_FUZZ_BUILD_DIR=build-fuzz (default)
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-60}"
build="${HEYES_FUZZ_BUILD_DIR:-build-fuzz}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 SECONDS" >&2; exit 2 ;; esac

if [ ! -f "$build/build.ninja" ]; then
  CXX="${HEYES_FUZZ_CXX:-clang++}" meson setup "$build" -Dfuzzers=enabled -Dtests=false -Dtools=false \
    -Dbenchmarks=false >/dev/null
fi
meson compile -C "$build" -j "${HEYES_JOBS:-2}" >/dev/null

status=0
printf '%-20s %-8s %12s %8s %8s\n' target result executions cov corpus
for exe in "$build"/tests/fuzz/fuzz-*; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  name="$(basename "$exe")"
  seeds="tests/fuzz/corpus/${name#fuzz-}"
  work="$build/fuzz-corpus/$name"
  artifacts="$build/fuzz-artifacts/$name"
  log="$build/fuzz-logs/$name.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  # New inputs go to the work corpus (kept between runs), never to the seeds.
  result=ok
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$seeds" >"$log" 2>&1 || result=FAILED
  [ "$result" = ok ] || status=1
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  units="$(find "$work" -type f | wc -l)"
  printf '%-20s %-8s %12s %8s %8s\n' "$name" "$result" "${execs:-?}" "${cov:-?}" "$units"
  if [ "$result" != ok ]; then
    grep -E 'ERROR|SUMMARY|violated|Test unit written' "$log" | head -n 10 >&2 || true
  fi
done
exit "$status"
