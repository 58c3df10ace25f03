// SPDX-License-Identifier: MIT
// A gai.conf scopev4 line changes the order of destinations through sort_destinations (RFC 6724 rules 2 and 8).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"
#include "support/fake_source_lookup.hpp"

using heyes::IpAddress;
using heyes::PolicyTable;
using heyes::test::FakeSourceLookup;

namespace {

// Sorts {a, b} and {b, a}: the result is the same both ways, or rule 10
// (input order) is what decided and "" is returned.
std::string first_of(const char* a, const char* b, const PolicyTable& policy, FakeSourceLookup& sources) {
  const std::vector<IpAddress> ab{*IpAddress::parse(a), *IpAddress::parse(b)};
  const std::vector<IpAddress> ba{ab[1], ab[0]};
  auto x = heyes::sort_destinations(ab, policy, sources);
  auto y = heyes::sort_destinations(ba, policy, sources);
  return x == y ? x.front().to_string() : std::string();
}

PolicyTable gai_conf(const char* text) { return heyes::parse_policy(text, "gai.conf").value; }

}  // namespace

TEST_CASE("scopev4 makes 198.51.100.0/24 site-local: rule 8 (smaller scope) now puts it first") {
  FakeSourceLookup sources;
  sources.add("192.0.2.1", "192.0.2.100");
  sources.add("198.51.100.1", "198.51.100.100");
  const PolicyTable site = gai_conf("scopev4 ::ffff:198.51.100.0/120 5\n");
  REQUIRE(site.scope(*IpAddress::parse("198.51.100.1")) == heyes::kScopeSiteLocal);
  // Default table: both global, nothing between them but the input order.
  CHECK(first_of("192.0.2.1", "198.51.100.1", PolicyTable(), sources).empty());
  // Both destinations match their sources' scope (rule 2); rule 8 decides.
  CHECK(first_of("192.0.2.1", "198.51.100.1", site, sources) == "198.51.100.1");
}

TEST_CASE("scopev4 makes a destination's scope differ from its source's: rule 2 no longer prefers it") {
  FakeSourceLookup sources;
  sources.add("10.1.1.1", "192.168.1.100");
  sources.add("2001:db8::1", "fe80::1");  // a global destination reached from a link-local source
  // RFC 6724 table: 10.1.1.1 and its source are both global (rule 2 wins over IPv6's precedence).
  CHECK(first_of("10.1.1.1", "2001:db8::1", PolicyTable(), sources) == "10.1.1.1");
  // 10/8 site-local, its source still global: both mismatch, and rule 6 puts IPv6 first.
  const PolicyTable ten = gai_conf("scopev4 ::ffff:10.0.0.0/104 5\n");
  CHECK(first_of("10.1.1.1", "2001:db8::1", ten, sources) == "2001:db8::1");
  // The plain IPv4 form of the mask means the same.
  CHECK(first_of("10.1.1.1", "2001:db8::1", gai_conf("scopev4 10.0.0.0/8 5\n"), sources) == "2001:db8::1");
}
