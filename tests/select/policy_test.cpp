// SPDX-License-Identifier: MIT
// PolicyTable: the RFC 6724 default rows, longest-prefix lookup, prefixes and scope.
#include <doctest/doctest.h>

#include <string>

#include "heyes/select/policy.hpp"

using heyes::IpAddress;
using heyes::PolicyTable;
using heyes::Prefix;

namespace {
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
}  // namespace

TEST_CASE("RFC 6724 section 2.1 default table: precedence and label of each row") {
  const PolicyTable t;
  // address, precedence, label: one address inside each row of the table
  struct Row {
    const char* address;
    int precedence, label;
  };
  const Row rows[] = {
      {"::1", 50, 0},            // ::1/128 loopback
      {"2001:db8::1", 40, 1},    // ::/0
      {"192.0.2.1", 35, 4},      // ::ffff:0:0/96 IPv4 (stored mapped)
      {"::ffff:10.0.0.1", 35, 4},
      {"2002:c633:6401::1", 30, 2},  // 2002::/16 6to4
      {"2001:0:1::1", 5, 5},         // 2001::/32 Teredo
      {"fd00::1", 3, 13},            // fc00::/7 ULA
      {"fc00::1", 3, 13},
      {"::192.0.2.1", 1, 3},  // ::/96 IPv4-compatible
      {"fec0::1", 1, 11},     // fec0::/10 site-local
      {"3ffe::1", 1, 12},     // 3ffe::/16 6bone
      {"fe80::1", 40, 1},     // link-local falls to ::/0
  };
  for (const auto& r : rows) {
    CAPTURE(r.address);
    CHECK(t.precedence(ip(r.address)) == r.precedence);
    CHECK(t.label(ip(r.address)) == r.label);
  }
  CHECK(t.precedences().size() == 9);
  CHECK(t.labels().size() == 9);
}

TEST_CASE("lookup takes the longest matching prefix, whatever the row order") {
  PolicyTable t;
  t.set_labels({{Prefix::of(ip("2001:db8::"), 32), 7},
                {Prefix::of(ip("2001:db8:1::"), 48), 8},
                {Prefix::of(ip("2001::"), 16), 9}});
  CHECK(t.label(ip("2001:db8:1::5")) == 8);
  CHECK(t.label(ip("2001:db8:2::5")) == 7);
  CHECK(t.label(ip("2001:1::5")) == 9);
  CHECK(t.label(ip("3000::1")) == 1);  // the added ::/0 row (glibc: label 1)
  // The table is kept longest first.
  CHECK(t.labels().front().prefix.length == 48);
  CHECK(t.labels().back().prefix.length == 0);
}

TEST_CASE("a replaced table keeps its own /0 row, or gets glibc's") {
  PolicyTable t;
  t.set_precedences({{Prefix::of(ip("::"), 0), 7}});
  CHECK(t.precedence(ip("2001:db8::1")) == 7);
  CHECK(t.precedences().size() == 1);
  t.set_precedences({{Prefix::of(ip("::1"), 128), 60}});
  CHECK(t.precedence(ip("2001:db8::1")) == 40);
  CHECK(t.precedence(ip("::1")) == 60);
}

// glibc's gaiconf_init sorts the rows stably by prefix length and
// match_prefix takes the first match: of two rows with one prefix, the first
// line counts (gai_diff.py, gai-repeated).
TEST_CASE("of two rows with the same prefix the first one wins, as glibc") {
  PolicyTable t;
  t.set_labels({{Prefix::of(ip("2001:db8::"), 32), 7}, {Prefix::of(ip("2001:db8::ffff"), 32), 8}});
  CHECK(t.labels().size() == 2);
  CHECK(t.label(ip("2001:db8::1")) == 7);
  // A /0 row of the file wins over the default one.
  t.set_precedences({{Prefix::of(ip("::1"), 128), 60}, {Prefix::of(ip("::"), 0), 7}, {Prefix::of(ip("::"), 0), 9}});
  CHECK(t.precedence(ip("2001:db8::1")) == 7);
  auto parsed = heyes::parse_policy("precedence ::ffff:0:0/96 100\nprecedence ::ffff:0:0/96 10\n", "gai.conf");
  CHECK(parsed.value.precedence(ip("192.0.2.1")) == 100);
}

TEST_CASE("Prefix: masking, containment, text") {
  auto p = Prefix::of(ip("2001:db8:ff::1"), 36);
  CHECK(p.address == ip("2001:db8::"));
  CHECK(p.contains(ip("2001:db8:fff::1")));
  CHECK_FALSE(p.contains(ip("2001:db8:1000::1")));
  CHECK(p.to_string() == "2001:db8::/36");
  CHECK(Prefix::of(ip("10.1.2.3"), 104).to_string() == "::ffff:10.0.0.0/104");
  CHECK(Prefix::of(ip("::"), 0).contains(ip("192.0.2.1")));
  CHECK(Prefix::of(ip("::1"), 300).length == 128);  // clamped
  CHECK(Prefix::of(ip("::1"), -4).length == 0);
  CHECK(Prefix::of(ip("2001:db8::1"), 127).contains(ip("2001:db8::")));
  CHECK_FALSE(Prefix::of(ip("2001:db8::1"), 128).contains(ip("2001:db8::")));
}

TEST_CASE("scope: RFC 6724 section 3.1 for IPv6, section 3.2 for IPv4") {
  const PolicyTable t;
  struct Row {
    const char* address;
    int scope;
  };
  const Row rows[] = {
      {"ff01::1", 0x1},  {"ff02::1", 0x2}, {"ff04::1", 0x4}, {"ff05::1", 0x5}, {"ff08::1", 0x8},
      {"ff0e::1", 0xe},  {"ff1e::1", 0xe},  // flags do not matter, the scope field does
      {"fe80::1", 0x2},  {"febf::1", 0x2},  // fe80::/10
      {"::1", 0x2},                          // loopback: link-local (RFC 4007)
      {"fec0::1", 0x5},  {"feff::1", 0x5},  // fec0::/10 site-local
      {"2001:db8::1", 0xe}, {"fd00::1", 0xe}, {"::", 0xe},
      {"127.0.0.1", 0x2}, {"127.255.0.1", 0x2}, {"169.254.13.78", 0x2},  // IPv4 link-local
      {"10.1.2.3", 0xe},  {"192.0.2.1", 0xe},  {"169.253.0.1", 0xe}, {"128.0.0.1", 0xe},
  };
  for (const auto& r : rows) {
    CAPTURE(r.address);
    CHECK(t.scope(ip(r.address)) == r.scope);
  }
}

TEST_CASE("scopev4 rows override the IPv4 scope; the rest is global") {
  PolicyTable t;
  t.set_scopes_v4({{Prefix::of(ip("10.0.0.0"), 104), heyes::kScopeSiteLocal}});
  CHECK(t.scope(ip("10.9.9.9")) == heyes::kScopeSiteLocal);
  CHECK(t.scope(ip("127.0.0.1")) == heyes::kScopeGlobal);  // the default 127/8 row was replaced
  CHECK(t.scope(ip("fe80::1")) == heyes::kScopeLinkLocal);  // IPv6 is not in the table
  CHECK(t.scopes_v4().size() == 2);                          // plus ::ffff:0:0/96 global
}
