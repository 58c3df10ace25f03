// SPDX-License-Identifier: MIT
// doctest's main(), compiled once for every test program; skips a run whose host lacks what it needs.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "support/host_requirements.hpp"
#include "testing/listeners.hpp"

// HEYES_TEST_REQUIRES names what this run needs from the host (meson sets it
// for a run of one suite, e.g. the ipv6-loopback cases of dial-test). When
// the host lacks it the run says so and exits 77, meson's "skipped", instead
// of tests returning early and counting as passed.
int main(int argc, char** argv) {
  if (const char* needs = std::getenv("HEYES_TEST_REQUIRES"); needs && *needs) {
    std::string_view need(needs);
    if (need != heyes::test::ipv6_loopback_suite) {
      std::fprintf(stderr, "error: HEYES_TEST_REQUIRES=%s: unknown requirement (known: %s)\n", needs,
                   heyes::test::ipv6_loopback_suite);
      return 1;
    }
    if (!heyes::testing::have_ipv6_loopback()) {
      std::fprintf(stderr, "SKIP: this run needs IPv6 on loopback, and ::1 cannot be bound on this host\n");
      return 77;
    }
  }
  doctest::Context context(argc, argv);
  return context.run();
}
