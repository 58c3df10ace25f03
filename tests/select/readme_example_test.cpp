// SPDX-License-Identifier: MIT
// The README's select examples, compiled and run (loopback addresses only).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <heyes/heyes.hpp>
#include <heyes/select/sort.hpp>

#include "support/host_requirements.hpp"

TEST_CASE("README: sort and interleave with the system's policy and sources" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  heyes::SystemSourceLookup sources;                 // the kernel's choice of source address
  const auto policy = heyes::PolicyTable::system();  // /etc/gai.conf if present, else RFC 6724
  std::vector<heyes::IpAddress> addrs = {*heyes::IpAddress::parse("127.0.0.1"),
                                         *heyes::IpAddress::parse("::1")};
  auto sorted = heyes::sort_destinations(addrs, policy, sources);
  auto order = heyes::interleave_families(sorted, /*first_family_count=*/1);
  // RFC 6724 rule 6: ::1 (precedence 50) before 127.0.0.1 (35, as
  // ::ffff:0:0/96), as long as the system's gai.conf leaves loopback alone
  // (Debian's ships with every line commented out). One address per family:
  // the interleave keeps the sorted order.
  const std::vector<heyes::IpAddress> expected = {addrs[1], addrs[0]};
  CHECK(sorted == expected);
  CHECK(order == expected);
}

TEST_CASE("README: strict and lenient policy loading") {
  const std::string path = "/tmp/heyes-readme-" + std::to_string(::getpid()) + ".conf";
  std::ofstream(path) << "label ::1/128 0\n\nlable ::/0 1\n";
  const std::string message = path + ":3: unknown keyword 'lable'";
  CHECK_THROWS_WITH_AS(heyes::load_policy(path), message.c_str(), heyes::ParseError);
  auto loose = heyes::load_policy(path, heyes::ParseMode::lenient);
  REQUIRE(loose.warnings.size() == 1);
  CHECK(loose.warnings[0].to_string() == message);
  std::remove(path.c_str());
}
