// SPDX-License-Identifier: MIT
// SystemSourceLookup on loopback only: the kernel's source, netlink's prefix length, no fd leaked.
#include <doctest/doctest.h>
#include <dirent.h>

#include <vector>

#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"

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

TEST_CASE("::1 is reached from ::1, a /128 on lo") {
  SystemSourceLookup lookup;
  auto s = lookup.source_for(*IpAddress::parse("::1"));
  if (!s) {
    MESSAGE("::1 has no source here (IPv6 disabled?): nothing more to check");
    return;
  }
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

TEST_CASE("sorting loopback destinations with the system lookup") {
  SystemSourceLookup lookup;
  auto in = std::vector<IpAddress>{*IpAddress::parse("127.0.0.1"), *IpAddress::parse("::1")};
  auto out = heyes::sort_destinations(in, heyes::PolicyTable(), lookup);
  REQUIRE(out.size() == 2);
  // ::1 (precedence 50) before 127.0.0.1 (35) when IPv6 loopback exists.
  if (lookup.source_for(in[1])) CHECK(out[0] == in[1]);
}
