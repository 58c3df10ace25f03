// SPDX-License-Identifier: MIT
// A program outside the heyes tree, built against heyes as a user builds it (pkg-config, meson, CMake).
#include <heyes/heyes.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  const char* text = argc > 1 ? argv[1] : "::1";
  auto address = heyes::IpAddress::parse(text);
  if (!address) {
    std::fprintf(stderr, "consumer: %s is not an address\n", text);
    return 1;
  }
  std::printf("%s %s heyes %s\n", address->to_string().c_str(),
              std::string(heyes::to_string(address->family())).c_str(), HEYES_VERSION);
  return 0;
}
