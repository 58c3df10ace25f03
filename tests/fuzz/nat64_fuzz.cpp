// SPDX-License-Identifier: MIT
// Fuzz target: NAT64 prefix validation, RFC 6052 synthesis/extraction, RFC 7050 discovery, the PREF64 option
// (alone and in the kernel's netlink messages), the cache.
#include <algorithm>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "heyes/select/nat64.hpp"

namespace {

using heyes::fuzz::require;
using namespace heyes;

IpAddress address_at(std::span<const std::uint8_t> b) {
  IpAddress::Bytes bytes{};
  std::copy_n(b.begin(), 16, bytes.begin());
  return IpAddress::v6(bytes);
}

// Bytes 0-15 an address, byte 16 a length, bytes 17-20 an IPv4 address.
void check_prefix(std::span<const std::uint8_t> in) {
  if (in.size() < 21) return;
  auto address = address_at(in);
  const int length = in[16] % 129;
  std::string why;
  auto p = Nat64Prefix::make(address, length, &why);
  if (!p) {
    require(!why.empty(), "a refused prefix says why");
    // The same prefix with its tail cleared is refused only for its length, u octet or IPv4-mapped overlap.
    return;
  }
  require(std::find(kNat64PrefixLengths.begin(), kNat64PrefixLengths.end(), p->length()) != kNat64PrefixLengths.end(),
          "a NAT64 prefix has an RFC 6052 length");
  require(p->prefix().address.bytes()[8] == 0, "the u octet of a prefix is zero");
  require(Nat64Prefix::parse(p->to_string()) == p, "a prefix prints to text that parses back");
  require(p->contains(p->prefix().address), "a prefix contains its own address");

  auto v4 = IpAddress::v4({in[17], in[18], in[19], in[20]});
  auto a = synthesize(*p, v4);
  require(a.has_value() && a->is_v6(), "an IPv4 address synthesizes to an IPv6 address");
  require(p->contains(*a), "a synthesized address lies inside its prefix");
  require(a->bytes()[8] == 0, "a synthesized address has a zero u octet");
  require(extract(*p, *a) == v4, "extract(synthesize(v4)) == v4");
  require(!synthesize(*p, *a).has_value(), "an IPv6 address is not synthesized");
  if (auto refusal = synthesis_refusal(*p, v4)) require(!refusal->empty(), "a refusal has a reason");
  if (!p->is_well_known() && !may_synthesize(*p, v4))
    require(!may_synthesize(Nat64Prefix::well_known(), v4), "whatever a network-specific prefix refuses, so does the WKP");

  // Arbitrary bytes under the prefix: what extracts synthesizes back onto the same prefix and IPv4 bytes.
  if (in.size() >= 37) {
    auto other = address_at(in.subspan(21));
    if (auto back = extract(*p, other)) {
      auto again = synthesize(*p, *back);
      require(again && extract(*p, *again) == back, "an extracted address synthesizes back to itself");
    }
  }
}

// The first 16 bytes as a PREF64 option.
void check_option(std::span<const std::uint8_t> in) {
  auto o = parse_pref64_option(in.first(std::min<std::size_t>(in.size(), 16)));
  if (!o) return;
  require(o->lifetime.count() >= 0 && o->lifetime.count() <= 65528 && o->lifetime.count() % 8 == 0,
          "a PREF64 lifetime is 8 s times 13 bits");
  auto encoded = encode_pref64_option(*o);
  require(parse_pref64_option(encoded) == o, "an option encodes to bytes that parse back");
}

// The input in 16-byte records as the AAAA answer for ipv4only.arpa.
void check_discovery(std::span<const std::uint8_t> in) {
  std::vector<IpAddress> aaaa;
  for (std::size_t i = 0; i + 16 <= in.size() && aaaa.size() < 64; i += 16) {
    auto a = address_at(in.subspan(i));
    // A leading 0xff byte stands for an IPv4 address in the answer (the low 4 bytes).
    if (in[i] == 0xff && in[i + 1] == 0xff) a = IpAddress::v4({in[i + 12], in[i + 13], in[i + 14], in[i + 15]});
    aaaa.push_back(a);
  }
  const auto ttl = std::chrono::seconds(in.empty() ? 0 : in[0] * 97);
  auto d = discover_pref64(aaaa, ttl);
  require(d.ttl == ttl, "the TTL is passed on");
  require(!d.prefixes.empty() || !d.diagnostics.empty(), "an answer without a prefix says why");
  const auto wka = ipv4only_addresses();
  for (std::size_t i = 0; i < d.prefixes.size(); ++i) {
    const auto& p = d.prefixes[i];
    require(Nat64Prefix::make(p.prefix()) == p, "a discovered prefix is a valid NAT64 prefix");
    bool holds = std::any_of(aaaa.begin(), aaaa.end(), [&](const IpAddress& a) {
      auto e = extract(p, a);
      return e == wka[0] || e == wka[1];
    });
    require(holds, "every discovered prefix holds a well-known address of the answer");
    for (std::size_t j = 0; j < i; ++j) require(!(d.prefixes[j] == p), "discovered prefixes are distinct");
  }

  Pref64Cache cache;
  const auto now = TimePoint{} + std::chrono::hours(1);
  cache.learn_dns(d, now);
  auto used = cache.prefixes(now);
  require(used == d.prefixes, "the cache uses what was discovered");
  require(cache.next_dns_query() > now, "the next query is in the future");
  require(cache.prefixes(now + std::chrono::hours(25)).empty(), "DNS prefixes expire within the cap");
}

// The input as a datagram of the NETLINK_ROUTE subscription for RA options.
void check_netlink(std::span<const std::uint8_t> in) {
  auto got = parse_pref64_netlink(in);
  for (const auto& r : got.options) {
    require(Nat64Prefix::make(r.option.prefix.prefix()) == r.option.prefix, "a router's prefix is a valid NAT64 prefix");
    require(r.option.lifetime.count() >= 0 && r.option.lifetime.count() <= 65528, "a router's lifetime fits 13 bits x 8 s");
  }
  for (const auto& d : got.diagnostics) require(d.line >= 1 && !d.message.empty(), "a netlink diagnostic names its message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  check_prefix(in);
  check_option(in);
  check_discovery(in);
  check_netlink(in);
  return 0;
}
