// SPDX-License-Identifier: MIT
// RFC 6724 destination sorting: each rule alone, the section 10.2 examples, the extra-rule hook, interleaving.
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

std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
  std::vector<IpAddress> out;
  for (const char* t : texts) out.push_back(*IpAddress::parse(t));
  return out;
}

std::vector<std::string> texts(const std::vector<IpAddress>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

std::vector<std::string> sorted(std::vector<IpAddress> in, FakeSourceLookup& src,
                                const PolicyTable& policy = PolicyTable(), const heyes::ExtraRule& extra = {}) {
  return texts(heyes::sort_destinations(in, policy, src, extra));
}

// Sorts a two-destination list in both input orders and checks that
// `first` comes first each time (so rule 10 cannot be what decided).
void check_both_orders(FakeSourceLookup& src, const char* first, const char* second,
                       const PolicyTable& policy = PolicyTable()) {
  std::vector<std::string> want{first, second};
  CHECK(sorted(ips({first, second}), src, policy) == want);
  CHECK(sorted(ips({second, first}), src, policy) == want);
}

}  // namespace

TEST_CASE("rule 1: avoid unusable destinations (no source)") {
  FakeSourceLookup src;
  src.add("192.0.2.1", "192.0.2.2");
  check_both_orders(src, "192.0.2.1", "2001:db8::1");
  // Two unusable destinations keep their order, after the usable one.
  CHECK(sorted(ips({"2001:db8::9", "198.51.100.9", "192.0.2.1"}), src) ==
        std::vector<std::string>{"192.0.2.1", "2001:db8::9", "198.51.100.9"});
  CHECK(src.calls() == 2 * 2 + 3);  // one lookup per destination per sort
}

TEST_CASE("rule 2: prefer matching scope (beats rule 6's higher IPv6 precedence)") {
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "fe80::1");             // global destination, link-local source
  src.add("198.51.100.121", "198.51.100.117");     // both global
  check_both_orders(src, "198.51.100.121", "2001:db8:1::1");
}

TEST_CASE("rule 3: avoid deprecated source addresses") {
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "2001:db8:1::2", 64).deprecated = true;
  src.add("2001:db8:2::1", "2001:db8:2::2", 64);
  check_both_orders(src, "2001:db8:2::1", "2001:db8:1::1");
}

TEST_CASE("rule 4: prefer home addresses") {
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "2001:db8:1::2", 64);
  src.add("2001:db8:2::1", "2001:db8:2::2", 64).home = true;
  check_both_orders(src, "2001:db8:2::1", "2001:db8:1::1");
}

TEST_CASE("rule 5: prefer matching label (beats rule 6)") {
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "2002:c633:6401::2");      // label 1 vs source label 2
  src.add("2002:c633:6401::1", "2002:c633:6401::2");  // label 2 = 2, precedence 30 < 40
  check_both_orders(src, "2002:c633:6401::1", "2001:db8:1::1");
}

TEST_CASE("rule 6: prefer higher precedence") {
  FakeSourceLookup src;
  src.add("2002:c633:6401::1", "2002:c633:6401::2");  // precedence 30
  src.add("2001:db8:1::1", "2001:db8:1::2");          // precedence 40
  check_both_orders(src, "2001:db8:1::1", "2002:c633:6401::1");
}

TEST_CASE("rule 7: prefer native transport (a 6to4 or Teredo source is not native)") {
  // Equal scope, no label match either way, equal precedence; rule 9 would
  // prefer the 6to4-sourced one (14 common bits against 0).
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "2002:c633:6401::2");
  src.add("2001:db8:2::1", "fd00::2");
  check_both_orders(src, "2001:db8:2::1", "2001:db8:1::1");
  FakeSourceLookup teredo;
  teredo.add("2001:db8:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2");
  teredo.add("2001:db8:2::1", "fd00::2");
  check_both_orders(teredo, "2001:db8:2::1", "2001:db8:1::1");
}

TEST_CASE("rule 8: prefer smaller scope") {
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "2001:db8:1::2");
  src.add("fe80::1", "fe80::2");
  check_both_orders(src, "fe80::1", "2001:db8:1::1");
}

TEST_CASE("rule 9: longest matching prefix, up to the source's prefix length") {
  FakeSourceLookup src;
  src.add("2001:db8:3ffe::1", "2001:db8:3f44::2");  // 40 common bits
  src.add("2001:db8:1::1", "2001:db8:1::2");        // 64 (prefix length unknown: capped at 64)
  check_both_orders(src, "2001:db8:1::1", "2001:db8:3ffe::1");

  // Capped at the source's prefix: both /48 sources share all 48 bits, a tie.
  FakeSourceLookup capped;
  capped.add("2001:db8:1:1::1", "2001:db8:1:2::2", 48);
  capped.add("2001:db8:1:3::1", "2001:db8:1:3::2", 48);
  CHECK(sorted(ips({"2001:db8:1:1::1", "2001:db8:1:3::1"}), capped) ==
        std::vector<std::string>{"2001:db8:1:1::1", "2001:db8:1:3::1"});
  CHECK(sorted(ips({"2001:db8:1:3::1", "2001:db8:1:1::1"}), capped) ==
        std::vector<std::string>{"2001:db8:1:3::1", "2001:db8:1:1::1"});

  // IPv4 counts in IPv4 bits when the source's prefix length is known.
  FakeSourceLookup v4;
  v4.add("198.51.100.1", "192.0.2.2", 24);
  v4.add("192.0.2.1", "192.0.2.2", 24);
  check_both_orders(v4, "192.0.2.1", "198.51.100.1");
  FakeSourceLookup v4_unknown;  // without it, rule 9 says nothing
  v4_unknown.add("198.51.100.1", "192.0.2.2");
  v4_unknown.add("192.0.2.1", "192.0.2.2");
  CHECK(sorted(ips({"198.51.100.1", "192.0.2.1"}), v4_unknown) ==
        std::vector<std::string>{"198.51.100.1", "192.0.2.1"});
}

TEST_CASE("rule 9 compares only destinations of one family") {
  // A mapped IPv4 destination and an IPv6 one tie on rules 1-8 under a
  // policy that gives them one precedence and label; rule 9 must not order them.
  auto policy = heyes::parse_policy("precedence ::/0 40\nlabel ::/0 1\n", "p").value;
  FakeSourceLookup src;
  src.add("192.0.2.1", "192.0.2.2", 24);    // 30 common bits (IPv4)
  src.add("2001:db8::1", "2001:db8::2", 64);  // 64 common bits
  CHECK(sorted(ips({"192.0.2.1", "2001:db8::1"}), src, policy) ==
        std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
  CHECK(sorted(ips({"2001:db8::1", "192.0.2.1"}), src, policy) ==
        std::vector<std::string>{"2001:db8::1", "192.0.2.1"});
}

TEST_CASE("rule 10: otherwise leave the order unchanged (stable sort)") {
  FakeSourceLookup src;
  const char* order[] = {"2001:db8::5", "2001:db8::3", "2001:db8::9", "2001:db8::1", "2001:db8::7"};
  for (const char* d : order) src.add(d, "2001:db8::100", 64);
  CHECK(sorted(ips({order[0], order[1], order[2], order[3], order[4]}), src) ==
        std::vector<std::string>(std::begin(order), std::end(order)));
}

TEST_CASE("the extra rule runs between rules 8 and 9") {
  FakeSourceLookup src;
  src.add("2001:db8:1::1", "2001:db8:1::2", 64);    // rule 9 would prefer this one
  src.add("2001:db8:3ffe::1", "2001:db8:1::2", 64);
  src.add("fe80::1", "fe80::2", 64);
  // Prefers 2001:db8:3ffe::1 (say, a lower RTT) over everything.
  const auto fast = *IpAddress::parse("2001:db8:3ffe::1");
  heyes::ExtraRule extra = [&](const IpAddress& a, const IpAddress& b) { return a == fast ? -1 : (b == fast ? 1 : 0); };
  CHECK(sorted(ips({"2001:db8:1::1", "2001:db8:3ffe::1"}), src, PolicyTable(), extra) ==
        std::vector<std::string>{"2001:db8:3ffe::1", "2001:db8:1::1"});
  // Rule 8 still decides before it.
  CHECK(sorted(ips({"2001:db8:3ffe::1", "fe80::1"}), src, PolicyTable(), extra) ==
        std::vector<std::string>{"fe80::1", "2001:db8:3ffe::1"});
  // An extra rule with no opinion leaves rule 9 in charge.
  heyes::ExtraRule none = [](const IpAddress&, const IpAddress&) { return 0; };
  CHECK(sorted(ips({"2001:db8:3ffe::1", "2001:db8:1::1"}), src, PolicyTable(), none) ==
        std::vector<std::string>{"2001:db8:1::1", "2001:db8:3ffe::1"});
  // Unusable destinations stay last whatever the extra rule says.
  CHECK(sorted(ips({"2001:db8:3ffe::99", "2001:db8:1::1"}), src, PolicyTable(),
               [](const IpAddress&, const IpAddress&) { return -1; }) ==
        std::vector<std::string>{"2001:db8:1::1", "2001:db8:3ffe::99"});
}

// RFC 6724 section 10.2, every example: the candidate sources reduce to the
// source the RFC names for each destination (its "(src ...)").
TEST_CASE("RFC 6724 section 10.2 examples") {
  SUBCASE("1: prefer matching scope") {
    FakeSourceLookup src;
    src.add("2001:db8:1::1", "2001:db8:1::2");
    src.add("198.51.100.121", "169.254.13.78");
    check_both_orders(src, "2001:db8:1::1", "198.51.100.121");
  }
  SUBCASE("2: prefer matching scope") {
    FakeSourceLookup src;
    src.add("2001:db8:1::1", "fe80::1");
    src.add("198.51.100.121", "198.51.100.117");
    check_both_orders(src, "198.51.100.121", "2001:db8:1::1");
  }
  SUBCASE("3: prefer higher precedence") {
    FakeSourceLookup src;
    src.add("2001:db8:1::1", "2001:db8:1::2");
    src.add("10.1.2.3", "10.1.2.4");
    check_both_orders(src, "2001:db8:1::1", "10.1.2.3");
  }
  SUBCASE("4: prefer smaller scope") {
    FakeSourceLookup src;
    src.add("2001:db8:1::1", "2001:db8:1::2");
    src.add("fe80::1", "fe80::2");
    check_both_orders(src, "fe80::1", "2001:db8:1::1");
  }
  SUBCASE("5: prefer home address") {
    FakeSourceLookup src;
    src.add("2001:db8:1::1", "2001:db8:1::2");  // care-of address
    src.add("3ffe:1::2", "3ffe:1::1").home = true;
    check_both_orders(src, "3ffe:1::2", "2001:db8:1::1");
  }
  SUBCASE("6: avoid deprecated addresses") {
    FakeSourceLookup src;
    src.add("2001:db8:1::1", "2001:db8:1::2").deprecated = true;
    src.add("fe80::1", "fe80::2");
    check_both_orders(src, "fe80::1", "2001:db8:1::1");
  }
  SUBCASE("7: longest matching prefix") {
    FakeSourceLookup src;
    // The RFC's sources: 2001:db8:1::2 for the first, 2001:db8:3f44::2 for the second.
    src.add("2001:db8:1::1", "2001:db8:1::2");
    src.add("2001:db8:3ffe::1", "2001:db8:3f44::2");
    check_both_orders(src, "2001:db8:1::1", "2001:db8:3ffe::1");
  }
  SUBCASE("8: prefer matching label") {
    FakeSourceLookup src;
    src.add("2002:c633:6401::1", "2002:c633:6401::2");
    src.add("2001:db8:1::1", "2002:c633:6401::2");
    check_both_orders(src, "2002:c633:6401::1", "2001:db8:1::1");
  }
  SUBCASE("9: prefer higher precedence") {
    FakeSourceLookup src;
    src.add("2002:c633:6401::1", "2002:c633:6401::2");
    src.add("2001:db8:1::1", "2001:db8:1::2");
    check_both_orders(src, "2001:db8:1::1", "2002:c633:6401::1");
  }
}

TEST_CASE("RFC 6724 section 10.4: a gai.conf precedence for fe80::/10 sorts global first") {
  auto policy = heyes::parse_policy("precedence ::1/128 50\nprecedence ::/0 40\nprecedence ::ffff:0:0/96 35\n"
                                    "precedence fe80::/10 33\nprecedence 2002::/16 30\n",
                                    "policy.conf")
                    .value;
  FakeSourceLookup src;
  src.add("2001:db8::1", "2001:db8::2");
  src.add("fe80::1", "fe80::2");
  check_both_orders(src, "2001:db8::1", "fe80::1", policy);
  // Example 2: a deprecated source still loses (rule 3 before rule 6).
  FakeSourceLookup deprecated;
  deprecated.add("2001:db8::1", "2001:db8::2").deprecated = true;
  deprecated.add("fe80::1", "fe80::2");
  check_both_orders(deprecated, "fe80::1", "2001:db8::1", policy);
}

TEST_CASE("sorting an empty list or one address") {
  FakeSourceLookup src;
  CHECK(sorted({}, src).empty());
  CHECK(sorted(ips({"192.0.2.1"}), src) == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("interleave_families: RFC 8305 section 4, First Address Family Count 1 and 2") {
  auto in = ips({"2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1", "192.0.2.2"});
  CHECK(texts(heyes::interleave_families(in, 1)) ==
        std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"});
  CHECK(texts(heyes::interleave_families(in)) == texts(heyes::interleave_families(in, 1)));
  CHECK(texts(heyes::interleave_families(in, 2)) ==
        std::vector<std::string>{"2001:db8::1", "2001:db8::2", "192.0.2.1", "2001:db8::3", "192.0.2.2"});
  // The first address's family leads, IPv4 included; the rest follow in order.
  auto v4_first = ips({"192.0.2.1", "2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.2"});
  CHECK(texts(heyes::interleave_families(v4_first, 1)) ==
        std::vector<std::string>{"192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2", "2001:db8::3"});
  CHECK(texts(heyes::interleave_families(v4_first, 2)) ==
        std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2", "2001:db8::3"});
}

TEST_CASE("interleave_families: edge cases") {
  CHECK(heyes::interleave_families({}, 1).empty());
  auto one_family = ips({"2001:db8::3", "2001:db8::1", "2001:db8::2"});
  CHECK(texts(heyes::interleave_families(one_family, 1)) == texts(one_family));
  auto in = ips({"2001:db8::1", "2001:db8::2", "192.0.2.1"});
  CHECK(texts(heyes::interleave_families(in, 0)) == texts(heyes::interleave_families(in, 1)));  // < 1 counts as 1
  CHECK(texts(heyes::interleave_families(in, -5)) == texts(heyes::interleave_families(in, 1)));
  CHECK(texts(heyes::interleave_families(in, 10)) == texts(in));  // count beyond the family: all of it first
}
