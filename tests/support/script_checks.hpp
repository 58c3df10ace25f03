// SPDX-License-Identifier: MIT
// Checks of a test program that is not a doctest suite (the root tests that run in a namespace of their own).
#pragma once

#include <cstdio>
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

}  // namespace heyes::test
