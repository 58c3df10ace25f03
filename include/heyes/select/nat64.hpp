// SPDX-License-Identifier: MIT
// NAT64 prefixes (RFC 6052), what may be synthesized, PREF64 discovery (RFC 7050, RFC 8781) and its cache: pure.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"
#include "heyes/select/nat64_prefix.hpp"
#include "heyes/select/policy.hpp"

namespace heyes {

// RFC 6052 section 2.2: the IPv4-embedded IPv6 address of v4 under prefix,
// the "u" octet skipped, the suffix zero. nullopt when v4 is not IPv4. This
// is the mechanism only: synthesis_refusal() says whether it should be used.
std::optional<IpAddress> synthesize(const Nat64Prefix& prefix, const IpAddress& v4);

// The IPv4 address embedded in a, when a is inside prefix and its "u" octet
// is zero; otherwise nullopt. The suffix is not looked at.
std::optional<IpAddress> extract(const Nat64Prefix& prefix, const IpAddress& a);

// Why v4 must not be synthesized under prefix, or nullopt when it may be:
// never 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 255.255.255.255 (HEv3
// section 8: they mean something on this host or link); under the
// Well-Known Prefix also no non-global address (RFC 6052 section 3.1: RFC
// 1918 and the RFC 5735 section 3 blocks, plus RFC 6598's shared space).
// docs/nat64.md has the table. The reason reads "127.0.0.1 is in
// 127.0.0.0/8 (loopback): never synthesized".
std::optional<std::string> synthesis_refusal(const Nat64Prefix& prefix, const IpAddress& v4);
inline bool may_synthesize(const Nat64Prefix& prefix, const IpAddress& v4) {
  return !synthesis_refusal(prefix, v4).has_value();
}
// True when v4 is refused under every prefix (the first four blocks: this
// host's or link's own addresses), or is not IPv4.
bool never_synthesized(const IpAddress& v4);

// RFC 7050 section 2.2: the name whose AAAA answer tells the NAT64 prefixes
// (fully qualified: never expanded by a search list, RFC 8880), and the two
// well-known IPv4 addresses its A records hold, 192.0.0.170 and 192.0.0.171.
inline constexpr std::string_view kIpv4OnlyName = "ipv4only.arpa.";
std::array<IpAddress, 2> ipv4only_addresses();

// What the AAAA answer for ipv4only.arpa said.
struct Pref64Discovery {
  std::vector<Nat64Prefix> prefixes;    // distinct, in answer order; empty: no DNS64 found
  std::chrono::seconds ttl{0};          // of the answer (or of the negative answer), as received
  std::vector<Diagnostic> diagnostics;  // file "ipv4only.arpa", line = 1-based record index (0: the answer)
};

// RFC 7050 section 3: every distinct prefix of the answer. Each address is
// searched for 192.0.0.170 and 192.0.0.171 at every RFC 6052 length (with
// a zero "u" octet and a valid prefix). One match gives the prefix. Several
// matches in one address (a prefix that itself holds the address's bytes)
// are settled by the other well-known address: the length at which another
// address of the answer holds it under the same prefix (a DNS64 synthesizes
// both with one prefix); when that does not single one out, the address is
// ignored. Never throws for any input; every prefix returned contains a
// well-known address read from one of the addresses given.
Pref64Discovery discover_pref64(std::span<const IpAddress> aaaa, std::chrono::seconds ttl);

// RFC 8781 section 4: the PREF64 option of a Router Advertisement (type 38,
// length 2: 16 bytes, as Linux hands it over in RTM_NEWNDUSEROPT).
struct Pref64Option {
  Nat64Prefix prefix = Nat64Prefix::well_known();
  std::chrono::seconds lifetime{0};  // scaled lifetime x 8 (0..65528 s); 0: the prefix is withdrawn
  friend bool operator==(const Pref64Option&, const Pref64Option&) = default;
};

inline constexpr std::uint8_t kPref64OptionType = 38;

// The option's 16 bytes (type and length included), or nullopt with the
// reason in *why: another type, a length other than 2 (16 bytes), a prefix
// length code other than 0-5, or a prefix Nat64Prefix refuses. Prefix bits
// past the coded length are ignored (cleared).
std::optional<Pref64Option> parse_pref64_option(std::span<const std::uint8_t> option, std::string* why = nullptr);
// The 16 bytes of option; the lifetime is rounded up to 8 s and capped at 65528 s.
std::array<std::uint8_t, 16> encode_pref64_option(const Pref64Option& option);

// The PREF64 options of one datagram read from a NETLINK_ROUTE socket
// subscribed to RTNLGRP_ND_USEROPT: the kernel (Linux 5.7 and later, on an
// interface that accepts Router Advertisements) passes each RA option it
// does not handle itself as an RTM_NEWNDUSEROPT message (docs/nat64.md).
// Messages of other types, options of other types and RA-less ICMPv6 types
// are skipped; a malformed message, option or PREF64 ends the walk of that
// message or is skipped, with a diagnostic saying which (index is the
// message's, 1-based). Never reads past datagram.
struct RouterPref64 {
  Pref64Option option;
  int ifindex = 0;                // the interface the RA came in on
  std::optional<IpAddress> router;  // NDUSEROPT_SRCADDR: the router's link-local address
};
struct RouterPref64Messages {
  std::vector<RouterPref64> options;
  std::vector<Diagnostic> diagnostics;  // file "netlink"
};
RouterPref64Messages parse_pref64_netlink(std::span<const std::uint8_t> datagram);

// Where a prefix came from, by precedence: configured, then the router's
// PREF64 option, then the ipv4only.arpa query.
enum class Pref64Source : std::uint8_t { configured, router_advertisement, dns };
std::string_view to_string(Pref64Source s) noexcept;  // "configured", "ra", "dns"

struct Pref64Entry {
  Nat64Prefix prefix;
  Pref64Source source = Pref64Source::dns;
  TimePoint learned{};
  TimePoint expires = TimePoint::max();  // max: never (configured)
};

struct Pref64CacheOptions {
  // A DNS answer's TTL (positive or negative) is kept within these bounds:
  // a TTL of 0 would mean a query per dial, a week-long one a stale prefix
  // after the operator renumbers.
  std::chrono::seconds min_ttl{60};
  std::chrono::seconds max_ttl{std::chrono::hours(24)};
  // The query is repeated at this share of the lifetime, before it ends.
  int refresh_percent = 90;
  // After a failed query (timeout, SERVFAIL): the next one this much later
  // (but not after the DNS prefixes expire, if earlier).
  std::chrono::seconds retry_after{30};
};

// The NAT64 prefixes known, from every source, with their expiry. Pure: no
// clock is read (every call takes now), no I/O; not thread-safe (the owner
// guards it).
class Pref64Cache {
 public:
  using Options = Pref64CacheOptions;
  explicit Pref64Cache(Options options = {});

  // Configured prefixes: never expire, win over every other source; an empty list removes them.
  void configure(std::vector<Nat64Prefix> prefixes, TimePoint now);
  // An answer to the ipv4only.arpa query (a NODATA or NXDOMAIN answer is a
  // discovery without prefixes): it replaces every DNS prefix; lifetime =
  // its TTL within [min_ttl, max_ttl]; the next query at refresh_percent of it.
  void learn_dns(const Pref64Discovery& discovery, TimePoint now);
  // The query failed without an answer: the DNS prefixes are kept until they
  // expire; the next query after retry_after.
  void dns_failed(TimePoint now);
  // One PREF64 option: adds or renews its prefix; lifetime 0 removes it.
  void learn_router(const Pref64Option& option, TimePoint now);
  // The network changed, or its prefixes stopped working: every learned
  // (DNS and router) prefix is forgotten and the query is due at once.
  void reset(TimePoint now);

  // The prefixes to use: those of the best source that has any live one.
  std::vector<Nat64Prefix> prefixes(TimePoint now) const;
  // Every live entry, best source first.
  std::vector<Pref64Entry> entries(TimePoint now) const;
  // When the ipv4only.arpa query should be sent (at or before now: due).
  TimePoint next_dns_query() const noexcept { return dns_due_; }
  bool dns_query_due(TimePoint now) const noexcept { return dns_due_ <= now; }
  // When prefixes() changes next by itself (the earliest expiry), if ever.
  std::optional<TimePoint> next_expiry(TimePoint now) const;

 private:
  Duration clamp_ttl(std::chrono::seconds ttl) const;
  Options options_;
  std::vector<Pref64Entry> entries_;  // in learning order; expired ones skipped on read
  TimePoint dns_due_ = TimePoint::min();
  TimePoint dns_expires_ = TimePoint::min();
};

}  // namespace heyes
