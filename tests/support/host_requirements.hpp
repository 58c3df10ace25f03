// SPDX-License-Identifier: MIT
// What a test may need of the host, named once for the tests, doctest's main() and meson.
#pragma once

#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace heyes::test {

// For a test program that works in a network namespace of its own (root):
// moves the process there, or prints why not ("SKIP: needs root to <why>")
// and returns false; the program then exits 77 (meson's skip).
inline bool enter_own_network_namespace(const char* why) {
  if (::geteuid() != 0) {
    std::printf("SKIP: needs root to %s\n", why);
    return false;
  }
  if (std::system("ip -V >/dev/null 2>&1") != 0) {
    std::puts("SKIP: needs the ip command (iproute2)");
    return false;
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    std::perror("SKIP: unshare(CLONE_NEWNET)");
    return false;
  }
  return true;
}

// The doctest suite of the cases that need IPv6 on loopback (::1). meson runs
// a program's cases in this suite as a test of its own (see tests/meson.build:
// ipv6_loopback_run) which skips, exit 77, on a host without ::1; run anyway,
// such a case fails instead of passing silently.
inline constexpr const char* ipv6_loopback_suite = "ipv6-loopback";

}  // namespace heyes::test
