// SPDX-License-Identifier: MIT
// heyes-connect: the command-line tester of heyes (sort, dial and demo modes).
#include <cstdio>
#include <string_view>

#include "heyes/heyes.hpp"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--version") {
      std::printf("heyes-connect %s\n", HEYES_VERSION);
      return 0;
    }
    if (a == "--help" || a == "-h") {
      std::printf("usage: heyes-connect --sort [OPTIONS] ADDR...\n");
      return 0;
    }
  }
  std::fprintf(stderr, "heyes-connect: nothing to do (try --help)\n");
  return 2;
}
