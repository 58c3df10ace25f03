// SPDX-License-Identifier: MIT
// Checks and commands of a test program that is not a doctest suite (the root tests that run in a namespace of their own).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace heyes::test {

// How many check() calls failed so far in this program.
inline int failed_checks = 0;

// Prints "ok: what" or "FAILED: what" at once (a test that hangs later still
// shows how far it got) and counts a failure.
inline void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failed_checks;
}

// Runs a shell command with its output discarded, after printing it ("+ command");
// true when it exits 0.
inline bool run(const std::string& command) {
  std::printf("+ %s\n", command.c_str());
  std::fflush(stdout);
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace heyes::test
