// SPDX-License-Identifier: MIT
// SystemSourceLookup on loopback only: the kernel's source, netlink's prefix length, no fd leaked.
#include <doctest/doctest.h>
#include <dirent.h>

#include <vector>

#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"
#include "support/host_requirements.hpp"

using heyes::IpAddress;
using heyes::SystemSourceLookup;

namespace {

// Open file descriptors of this process.
int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

}  // namespace

TEST_CASE("127.0.0.1 is reached from 127.0.0.1, a /8 on lo") {
  SystemSourceLookup lookup;
  auto s = lookup.source_for(*IpAddress::parse("127.0.0.1"));
  REQUIRE(s);
  CHECK(s->address == *IpAddress::parse("127.0.0.1"));
  CHECK(s->address.is_loopback());
  CHECK(s->prefix_length == 8);  // from netlink
  CHECK_FALSE(s->deprecated);
  CHECK_FALSE(s->home);
  // Another loopback address is reached from 127.0.0.1 too (lo's own address).
  auto other = lookup.source_for(*IpAddress::parse("127.0.0.53"));
  REQUIRE(other);
  CHECK(other->address.is_loopback());
}

TEST_CASE("::1 is reached from ::1, a /128 on lo" * doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  SystemSourceLookup lookup;
  auto s = lookup.source_for(*IpAddress::parse("::1"));
  REQUIRE_MESSAGE(s, "::1 has no source: is IPv6 disabled on lo?");
  CHECK(s->address == *IpAddress::parse("::1"));
  CHECK(s->prefix_length == 128);
  CHECK_FALSE(s->deprecated);
}

TEST_CASE("the unspecified address has no source") {
  SystemSourceLookup lookup;
  CHECK_FALSE(lookup.source_for(*IpAddress::parse("::")));
  CHECK_FALSE(lookup.source_for(*IpAddress::parse("0.0.0.0")));
}

TEST_CASE("lookups leave no file descriptor open") {
  SystemSourceLookup lookup;
  const int before = open_fds();
  for (int i = 0; i < 50; ++i) {
    (void)lookup.source_for(*IpAddress::parse("127.0.0.1"));
    (void)lookup.source_for(*IpAddress::parse("::1"));
    (void)lookup.source_for(*IpAddress::parse("::"));
  }
  CHECK(open_fds() == before);
}

TEST_CASE("sorting loopback destinations with the system lookup" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  SystemSourceLookup lookup;
  auto in = std::vector<IpAddress>{*IpAddress::parse("127.0.0.1"), *IpAddress::parse("::1")};
  auto out = heyes::sort_destinations(in, heyes::PolicyTable(), lookup);
  REQUIRE(out.size() == 2);
  // ::1 (precedence 50) before 127.0.0.1 (35): IPv6 loopback exists.
  REQUIRE(lookup.source_for(in[1]));
  CHECK(out == std::vector<IpAddress>{in[1], in[0]});
}
