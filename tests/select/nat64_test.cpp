// SPDX-License-Identifier: MIT
// NAT64: RFC 6052 prefixes and the section 2.4 table, what is never synthesized, RFC 7050 discovery, PREF64, the cache.
#include <doctest/doctest.h>

#include <random>

#include "heyes/select/nat64.hpp"
#include "support/ra_message.hpp"

using namespace heyes;
using namespace std::chrono_literals;

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE_MESSAGE(a.has_value(), text);
  return *a;
}

Nat64Prefix prefix(const char* text) {
  std::string why;
  auto p = Nat64Prefix::parse(text, &why);
  REQUIRE_MESSAGE(p.has_value(), text, ": ", why);
  return *p;
}

std::string refusal_of(const char* text) {
  std::string why;
  CHECK_FALSE(Nat64Prefix::parse(text, &why).has_value());
  return why;
}

// The virtual clock: an instant some seconds after an arbitrary origin.
TimePoint at(std::chrono::seconds s) { return TimePoint{} + std::chrono::hours(1000) + s; }

}  // namespace

// RFC 6052 section 2.4, Table 1, and the Well-Known Prefix line of the same section.
//   prefix                   IPv4          IPv4-embedded IPv6
TEST_CASE("RFC 6052 section 2.4 examples: 192.0.2.33 under each prefix length, both ways") {
  struct Row {
    const char* prefix;
    const char* embedded;
  };
  const Row rows[] = {
      {"2001:db8::/32", "2001:db8:c000:221::"},
      {"2001:db8:100::/40", "2001:db8:1c0:2:21::"},
      {"2001:db8:122::/48", "2001:db8:122:c000:2:2100::"},
      {"2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"},
      {"2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"},
      {"2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"},
      {"64:ff9b::/96", "64:ff9b::192.0.2.33"},
  };
  const auto v4 = ip("192.0.2.33");
  for (const auto& row : rows) {
    CAPTURE(row.prefix);
    auto p = prefix(row.prefix);
    CHECK(synthesize(p, v4) == ip(row.embedded));
    CHECK(extract(p, ip(row.embedded)) == v4);
  }
}

TEST_CASE("prefix validation: the six lengths only, zero bits past the length, zero u octet") {
  for (int length : kNat64PrefixLengths) CHECK(Nat64Prefix::make(ip("2001:db8::"), length).has_value());
  for (int length : {0, 16, 33, 63, 65, 80, 95, 97, 128}) {
    CAPTURE(length);
    CHECK_FALSE(Nat64Prefix::make(ip("2001:db8::"), length).has_value());
  }
  CHECK(refusal_of("2001:db8::/36").find("not a NAT64 prefix length") != std::string::npos);
  CHECK(refusal_of("2001:db8::1/96").find("bits set past the prefix length") != std::string::npos);
  CHECK(refusal_of("2001:db8:0:0:100::/56").find("bits set past") != std::string::npos);  // the u octet past /56
  CHECK(refusal_of("2001:db8:0:0:ff00::/96").find("\"u\" octet") != std::string::npos);   // RFC 6052: zero for /96 too
  CHECK(refusal_of("::ffff:0:0/96").find("IPv4-mapped") != std::string::npos);
  CHECK(refusal_of("::/64").find("IPv4-mapped") != std::string::npos);
  // A zone means nothing on a NAT64 prefix; refused, not silently dropped.
  CHECK(refusal_of("64:ff9b::%1/96").find("has a zone") != std::string::npos);
  CHECK(refusal_of("64:ff9b::%lo/96").find("has a zone") != std::string::npos);
  CHECK(refusal_of("192.0.2.0/24").find("not an IPv6 address") != std::string::npos);
  CHECK(refusal_of("64:ff9b::").find("no /length") != std::string::npos);
  CHECK(refusal_of("64:ff9b::/x6").find("not a prefix length") != std::string::npos);
}

TEST_CASE("the Well-Known Prefix is 64:ff9b::/96 and is recognised however it is written") {
  CHECK(Nat64Prefix::well_known().to_string() == "64:ff9b::/96");
  CHECK(prefix("0064:ff9b:0::/96").is_well_known());
  CHECK_FALSE(prefix("64:ff9b::/64").is_well_known());
  CHECK_FALSE(prefix("64:ff9b:1::/48").is_well_known());  // RFC 8215's local-use prefix is not the WKP
}

TEST_CASE("extract: only inside the prefix and with a zero u octet") {
  auto p = prefix("2001:db8:122::/48");
  CHECK_FALSE(extract(p, ip("2001:db8:123:c000:2:2100::")).has_value());  // another /48
  CHECK_FALSE(extract(p, ip("2001:db8:122:c000:2ff:2100::")).has_value());  // u octet set
  CHECK_FALSE(extract(p, ip("192.0.2.33")).has_value());
  CHECK(extract(p, ip("2001:db8:122:c000:2:2100:0:1")) == ip("192.0.2.33"));  // the suffix is not looked at
  CHECK_FALSE(synthesize(p, ip("2001:db8::1")).has_value());                 // not IPv4
}

TEST_CASE("round trip: extract(synthesize(v4)) == v4 and the result lies in its prefix, every length") {
  std::mt19937 rng(6052);
  for (int length : kNat64PrefixLengths) {
    for (int i = 0; i < 200; ++i) {
      IpAddress::Bytes b{};
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      b[0] = 0x20;  // away from ::ffff:0:0/96
      b[8] = 0;
      auto p = Nat64Prefix::make(Prefix::of(IpAddress::v6(b), length));
      REQUIRE(p.has_value());
      auto v4 = IpAddress::v4(static_cast<std::uint32_t>(rng()));
      auto a = synthesize(*p, v4);
      REQUIRE(a.has_value());
      CHECK(a->is_v6());
      CHECK(p->contains(*a));
      CHECK(a->bytes()[8] == 0);
      CHECK(extract(*p, *a) == v4);
      CHECK(Nat64Prefix::parse(p->to_string()) == p);
    }
  }
}

// Which destinations are never synthesized, and which only under a network-specific prefix.
//   address            WKP      2001:db8::/96
TEST_CASE("synthesis refusals: always for this-host and link ranges, non-global only under the WKP") {
  struct Row {
    const char* v4;
    bool under_wkp;
    bool under_nsp;
  };
  const Row rows[] = {
      {"0.1.2.3", false, false},        {"127.0.0.1", false, false},      {"169.254.1.1", false, false},
      {"255.255.255.255", false, false}, {"10.1.2.3", false, true},       {"172.16.0.1", false, true},
      {"172.31.255.255", false, true},  {"192.168.1.1", false, true},     {"100.64.0.1", false, true},
      {"192.0.0.170", false, true},     {"192.0.2.33", false, true},      {"198.18.0.1", false, true},
      {"198.51.100.7", false, true},    {"203.0.113.9", false, true},     {"224.0.0.251", false, true},
      {"240.0.0.1", false, true},       {"8.8.8.8", true, true},          {"172.32.0.1", true, true},
      {"255.255.255.254", false, true}, {"1.1.1.1", true, true},
  };
  const auto wkp = Nat64Prefix::well_known();
  const auto nsp = prefix("2001:db8::/96");
  for (const auto& row : rows) {
    CAPTURE(row.v4);
    CHECK(may_synthesize(wkp, ip(row.v4)) == row.under_wkp);
    CHECK(may_synthesize(nsp, ip(row.v4)) == row.under_nsp);
  }
  CHECK(synthesis_refusal(nsp, ip("127.0.0.1")) == "127.0.0.1 is in 127.0.0.0/8 (loopback): never synthesized");
  CHECK(synthesis_refusal(wkp, ip("10.0.0.1")) ==
        "10.0.0.1 is in 10.0.0.0/8 (private, RFC 1918): not global, never under the Well-Known Prefix");
  CHECK(synthesis_refusal(wkp, ip("2001:db8::1")) == "2001:db8::1 is not an IPv4 address");
}

// ---- RFC 7050 discovery ----------------------------------------------------

TEST_CASE("discovery: a DNS64 under the WKP answers both well-known addresses: one prefix, the TTL kept") {
  const IpAddress aaaa[] = {ip("64:ff9b::192.0.0.170"), ip("64:ff9b::192.0.0.171")};
  auto d = discover_pref64(aaaa, 600s);
  REQUIRE(d.prefixes.size() == 1);
  CHECK(d.prefixes[0].is_well_known());
  CHECK(d.ttl == 600s);
  CHECK(d.diagnostics.empty());
}

TEST_CASE("discovery: every RFC 6052 length is found") {
  for (const char* text :
       {"2001:db8::/32", "2001:db8:100::/40", "2001:db8:122::/48", "2001:db8:122:300::/56", "2001:db8:122:344::/64",
        "2001:db8:122:344::/96"}) {
    CAPTURE(text);
    auto p = prefix(text);
    const IpAddress aaaa[] = {*synthesize(p, ip("192.0.0.171"))};
    auto d = discover_pref64(aaaa, 60s);
    REQUIRE(d.prefixes.size() == 1);
    CHECK(d.prefixes[0] == p);
  }
}

TEST_CASE("discovery: two DNS64 prefixes in one answer are both returned, in answer order, once each") {
  auto a = prefix("2001:db8:64::/96");
  auto b = prefix("2001:db8:aaaa::/48");
  const IpAddress aaaa[] = {*synthesize(a, ip("192.0.0.170")), *synthesize(b, ip("192.0.0.170")),
                            *synthesize(a, ip("192.0.0.171")), *synthesize(b, ip("192.0.0.171"))};
  auto d = discover_pref64(aaaa, 300s);
  REQUIRE(d.prefixes.size() == 2);
  CHECK(d.prefixes[0] == a);
  CHECK(d.prefixes[1] == b);
  CHECK(d.diagnostics.empty());
}

TEST_CASE("discovery: a prefix that itself holds the well-known bytes is settled by the other address") {
  // 2001:db8:c000:aa::/64 holds c000:00aa at the /32 position: 192.0.0.170's
  // synthesis under it matches at /32 and at /64. 192.0.0.171 only at /64.
  auto p = prefix("2001:db8:c000:aa::/64");
  auto a170 = *synthesize(p, ip("192.0.0.170"));
  auto a171 = *synthesize(p, ip("192.0.0.171"));
  {
    const IpAddress aaaa[] = {a170, a171};
    auto d = discover_pref64(aaaa, 60s);
    REQUIRE(d.prefixes.size() == 1);
    CHECK(d.prefixes[0] == p);
    CHECK(d.diagnostics.empty());
  }
  {
    const IpAddress aaaa[] = {a170};  // nothing settles it: ignored, said so
    auto d = discover_pref64(aaaa, 60s);
    CHECK(d.prefixes.empty());
    REQUIRE(d.diagnostics.size() == 2);
    CHECK(d.diagnostics[0].to_string() ==
          "ipv4only.arpa:1: 2001:db8:c000:aa:c0:0:aa00:0 holds a well-known address at /32, /64, and the other "
          "well-known address settles none of them: ignored");
    CHECK(d.diagnostics[1].to_string() == "ipv4only.arpa: no NAT64 prefix in the answer");
  }
}

TEST_CASE("discovery: bogus answers give no prefix and say why, never a prefix without a well-known address") {
  SUBCASE("addresses that embed another IPv4 address") {
    const IpAddress aaaa[] = {ip("64:ff9b::192.0.2.1"), ip("2001:db8::1")};
    auto d = discover_pref64(aaaa, 60s);
    CHECK(d.prefixes.empty());
    REQUIRE(d.diagnostics.size() == 3);
    CHECK(d.diagnostics[0].line == 1);
    CHECK(d.diagnostics[0].message.find("64:ff9b::c000:201 holds neither") == 0);
    CHECK(d.diagnostics[1].line == 2);
  }
  SUBCASE("the u octet set") {
    const IpAddress aaaa[] = {ip("2001:db8:122:344:ffc0:0:aa00:0")};  // 192.0.0.170 at /64, u = 0xff
    CHECK(discover_pref64(aaaa, 60s).prefixes.empty());
  }
  SUBCASE("an IPv4 address where AAAA records belong") {
    const IpAddress aaaa[] = {ip("192.0.0.170")};
    auto d = discover_pref64(aaaa, 60s);
    CHECK(d.prefixes.empty());
    CHECK(d.diagnostics[0].message == "192.0.0.170 is not an IPv6 address: ignored");
  }
  SUBCASE("nothing at all") {
    auto d = discover_pref64({}, 60s);
    CHECK(d.prefixes.empty());
    REQUIRE(d.diagnostics.size() == 1);
    CHECK(d.diagnostics[0].message == "no AAAA record: no DNS64");
  }
}

TEST_CASE("discovery: nested prefixes are kept and noted as conflicting") {
  auto outer = prefix("2001:db8::/32");
  auto inner = prefix("2001:db8:1::/96");
  const IpAddress aaaa[] = {*synthesize(outer, ip("192.0.0.170")), *synthesize(inner, ip("192.0.0.171"))};
  auto d = discover_pref64(aaaa, 60s);
  CHECK(d.prefixes.size() == 2);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].message == "conflicting prefixes: 2001:db8::/32 contains 2001:db8:1::/96");
}

// ---- RFC 8781 PREF64 option --------------------------------------------------

TEST_CASE("PREF64 option: scaled lifetime, prefix length code, 96 bits of prefix") {
  // 64:ff9b::/96 for 1800 s: scaled lifetime 225 (0x0708 >> 3), PLC 0.
  const std::uint8_t wire[16] = {38, 2, 0x07, 0x08, 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  std::string why;
  auto o = parse_pref64_option(wire, &why);
  REQUIRE_MESSAGE(o.has_value(), why);
  CHECK(o->prefix.is_well_known());
  CHECK(o->lifetime == 1800s);
  CHECK(encode_pref64_option(*o) == std::to_array(wire));

  // Each code and its length.
  const int lengths[] = {96, 64, 56, 48, 40, 32};
  for (std::uint8_t plc = 0; plc < 6; ++plc) {
    auto bytes = std::to_array(wire);
    bytes[3] = static_cast<std::uint8_t>((bytes[3] & 0xf8) | plc);
    auto parsed = parse_pref64_option(bytes);
    REQUIRE(parsed.has_value());
    CHECK(parsed->prefix.length() == lengths[plc]);
  }
}

TEST_CASE("PREF64 option: malformed options are ignored with a reason") {
  auto reason = [](std::vector<std::uint8_t> bytes) {
    std::string why;
    CHECK_FALSE(parse_pref64_option(bytes, &why).has_value());
    return why;
  };
  std::vector<std::uint8_t> good = {38, 2, 0, 8, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(parse_pref64_option(good).has_value());
  auto bad = good;
  bad[0] = 25;
  CHECK(reason(bad) == "option type 25 is not PREF64 (38)");
  bad = good;
  bad[1] = 3;
  CHECK(reason(bad).find("must be 2 (16 bytes)") != std::string::npos);
  CHECK(reason({38, 2, 0}).find("must be 2 (16 bytes)") != std::string::npos);
  CHECK(reason({38}) == "PREF64 option of 1 bytes: too short");
  bad = good;
  bad[3] = 6;
  CHECK(reason(bad) == "PREF64 prefix length code 6 is not 0-5");
  bad = good;
  bad[12] = 0xff;  // bit 64: the u octet of a /96
  CHECK(reason(bad).find("\"u\" octet") != std::string::npos);
  // Bits past a shorter coded length are cleared, not refused.
  bad = good;
  bad[3] = 5;   // /32
  bad[10] = 1;  // a bit of byte 6
  auto o = parse_pref64_option(bad);
  REQUIRE(o.has_value());
  CHECK(o->prefix.to_string() == "2001:db8::/32");
}

TEST_CASE("PREF64 option: lifetime 0 withdraws; encoding rounds up to 8 s and caps at 65528 s") {
  CHECK((encode_pref64_option({Nat64Prefix::well_known(), 1s})[3] >> 3) == 1);
  auto max = encode_pref64_option({Nat64Prefix::well_known(), std::chrono::hours(48)});
  CHECK(parse_pref64_option(max)->lifetime == 65528s);
  CHECK(parse_pref64_option(encode_pref64_option({Nat64Prefix::well_known(), 0s}))->lifetime == 0s);
}

// ---- Pref64Cache on the virtual clock ------------------------------------------

TEST_CASE("cache: the DNS prefix lives its TTL, the query is due again at 90 %") {
  Pref64Cache cache;
  CHECK(cache.dns_query_due(at(0s)));
  CHECK(cache.prefixes(at(0s)).empty());
  auto p = prefix("2001:db8:64::/96");
  cache.learn_dns({{p}, 1000s, {}}, at(0s));
  CHECK(cache.prefixes(at(0s)) == std::vector{p});
  CHECK(cache.next_dns_query() == at(900s));
  CHECK_FALSE(cache.dns_query_due(at(899s)));
  CHECK(cache.dns_query_due(at(900s)));
  CHECK(cache.next_expiry(at(0s)) == at(1000s));
  CHECK(cache.prefixes(at(999s)) == std::vector{p});
  CHECK(cache.prefixes(at(1000s)).empty());
  CHECK(cache.entries(at(10s)).front().source == Pref64Source::dns);
}

TEST_CASE("cache: TTLs below the floor (60 s) and above the cap (24 h) are bounded") {
  Pref64Cache cache;
  auto p = Nat64Prefix::well_known();
  cache.learn_dns({{p}, 0s, {}}, at(0s));
  CHECK(cache.next_expiry(at(0s)) == at(60s));
  CHECK(cache.next_dns_query() == at(54s));
  cache.learn_dns({{p}, std::chrono::hours(24 * 30), {}}, at(0s));
  CHECK(cache.next_expiry(at(0s)) == at(86400s));
}

TEST_CASE("cache: NODATA means no DNS64 until its negative TTL; a failed query retries after 30 s") {
  Pref64Cache cache;
  cache.learn_dns({{}, 300s, {}}, at(0s));
  CHECK(cache.prefixes(at(1s)).empty());
  CHECK(cache.next_dns_query() == at(270s));

  auto p = Nat64Prefix::well_known();
  cache.learn_dns({{p}, 1000s, {}}, at(300s));
  cache.dns_failed(at(1200s));  // the refresh at 1200 s timed out: keep the prefix until it expires
  CHECK(cache.prefixes(at(1200s)) == std::vector{p});
  CHECK(cache.next_dns_query() == at(1230s));
  cache.dns_failed(at(1290s));  // 30 s more would pass the expiry at 1300 s
  CHECK(cache.next_dns_query() == at(1300s));
}

TEST_CASE("cache: router prefixes win over DNS ones, configured over both; lifetime 0 withdraws") {
  Pref64Cache cache;
  auto dns = prefix("2001:db8:d::/96");
  auto ra = prefix("2001:db8:a::/96");
  auto conf = prefix("2001:db8:c::/96");
  cache.learn_dns({{dns}, 3600s, {}}, at(0s));
  cache.learn_router({ra, 600s}, at(10s));
  CHECK(cache.prefixes(at(20s)) == std::vector{ra});
  CHECK(cache.entries(at(20s)).size() == 2);
  CHECK(cache.prefixes(at(610s)) == std::vector{dns});  // the RA lifetime ended
  cache.learn_router({ra, 600s}, at(620s));
  cache.learn_router({ra, 0s}, at(630s));
  CHECK(cache.prefixes(at(630s)) == std::vector{dns});
  cache.configure({conf}, at(640s));
  CHECK(cache.prefixes(at(640s)) == std::vector{conf});
  CHECK(cache.next_expiry(at(640s)) == at(3600s));
  cache.configure({}, at(650s));
  CHECK(cache.prefixes(at(650s)) == std::vector{dns});
}

TEST_CASE("cache: a network change forgets learned prefixes, keeps configured ones, makes the query due") {
  Pref64Cache cache;
  auto conf = prefix("2001:db8:c::/96");
  cache.learn_dns({{Nat64Prefix::well_known()}, 3600s, {}}, at(0s));
  cache.learn_router({prefix("2001:db8:a::/96"), 600s}, at(0s));
  CHECK_FALSE(cache.dns_query_due(at(100s)));
  cache.reset(at(100s));
  CHECK(cache.prefixes(at(100s)).empty());
  CHECK(cache.dns_query_due(at(100s)));
  cache.configure({conf}, at(100s));
  cache.reset(at(200s));
  CHECK(cache.prefixes(at(200s)) == std::vector{conf});
  CHECK_FALSE(cache.next_expiry(at(200s)).has_value());
}

TEST_CASE("netlink: RTM_NEWNDUSEROPT messages give the PREF64 options of Router Advertisements") {
  const auto o = encode_pref64_option({prefix("2001:db8:64::/96"), 600s});
  SUBCASE("one message: the option, its interface and router") {
    auto m = test::nduseropt_message(o, 7, ip("fe80::1"));
    auto got = parse_pref64_netlink(m);
    REQUIRE(got.options.size() == 1);
    CHECK(got.options[0].option.prefix == prefix("2001:db8:64::/96"));
    CHECK(got.options[0].option.lifetime == 600s);
    CHECK(got.options[0].ifindex == 7);
    CHECK(got.options[0].router == ip("fe80::1"));
    CHECK(got.diagnostics.empty());
  }
  SUBCASE("two messages in one datagram, another option type skipped, another ICMPv6 type skipped") {
    std::vector<std::uint8_t> rdnss(24, 0);
    rdnss[0] = 25;  // RDNSS
    rdnss[1] = 3;
    auto d = test::nduseropt_message(rdnss, 2, std::nullopt);
    auto second = test::nduseropt_message(encode_pref64_option({Nat64Prefix::well_known(), 80s}), 2, std::nullopt);
    d.insert(d.end(), second.begin(), second.end());
    auto not_ra = test::nduseropt_message(o, 2, std::nullopt, 133);
    d.insert(d.end(), not_ra.begin(), not_ra.end());
    auto got = parse_pref64_netlink(d);
    REQUIRE(got.options.size() == 1);
    CHECK(got.options[0].option.prefix == Nat64Prefix::well_known());
    CHECK(!got.options[0].router);
    CHECK(got.diagnostics.empty());
  }
  SUBCASE("hostile bytes: a diagnostic naming the message, no option, no read past the end") {
    auto m = test::nduseropt_message(o, 7, ip("fe80::1"));
    auto bad_len = m;
    bad_len[0] = 0xff;  // nlmsg_len past the datagram
    auto got = parse_pref64_netlink(bad_len);
    CHECK(got.options.empty());
    REQUIRE(got.diagnostics.size() == 1);
    CHECK(got.diagnostics[0].to_string().find("netlink:1: message of length") == 0);
    auto zero_option = m;
    zero_option[NLMSG_HDRLEN + sizeof(nduseroptmsg) + 1] = 0;  // option length 0
    got = parse_pref64_netlink(zero_option);
    CHECK(got.options.empty());
    CHECK(got.diagnostics.size() == 1);
    auto bad_plc = m;
    bad_plc[NLMSG_HDRLEN + sizeof(nduseroptmsg) + 3] |= 7;  // prefix length code 7
    got = parse_pref64_netlink(bad_plc);
    CHECK(got.options.empty());
    CHECK(got.diagnostics.at(0).message.find("PREF64 option ignored") == 0);
    for (std::size_t cut = 0; cut < m.size(); ++cut)
      CHECK(parse_pref64_netlink(std::span<const std::uint8_t>(m).first(cut)).options.empty());
  }
}
