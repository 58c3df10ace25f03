// SPDX-License-Identifier: MIT
// What a test may need of the host, named once for the tests, doctest's main() and meson.
#pragma once

namespace heyes::test {

// The doctest suite of the cases that need IPv6 on loopback (::1). meson runs
// a program's cases in this suite as a test of its own (see tests/meson.build:
// ipv6_loopback_run) which skips, exit 77, on a host without ::1; run anyway,
// such a case fails instead of passing silently.
inline constexpr const char* ipv6_loopback_suite = "ipv6-loopback";

}  // namespace heyes::test
