// SPDX-License-Identifier: MIT
// Interpreting a response: CNAME chain, the RRset of the final name, undialable addresses, RFC 2308 negative TTL.
#include "answer.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "parse_support.hpp"

namespace heyes::dns::detail {
namespace {

// The name as a map key: lower case, without a trailing dot (names_equal's rule).
std::string name_key(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return to_lower(name);
}

// RFC 2308 §5: the negative TTL is the smaller of the SOA's own TTL and its
// MINIMUM field; without an SOA the answer must not be cached.
std::optional<std::chrono::seconds> negative_ttl(const Message& m) {
  for (const auto& r : m.authority)
    if (r.type == RecordType::soa) return std::chrono::seconds(std::min(r.ttl, r.soa.minimum));
  return std::nullopt;
}

}  // namespace

std::string_view undialable_reason(const IpAddress& a) noexcept {
  if (a.is_unspecified()) return "unspecified";
  if (a.is_v4()) {
    const auto b = a.v4_bytes();
    if (b == std::array<std::uint8_t, 4>{255, 255, 255, 255}) return "broadcast";
    if ((b[0] & 0xf0) == 0xe0) return "multicast";
    return {};
  }
  if (a.bytes()[0] == 0xff) return "multicast";
  return {};
}

Answer interpret(const Message& m, std::string_view qname, RecordType type) {
  Answer a;
  // The first CNAME of each owner, so that a long chain is linear to follow.
  std::unordered_map<std::string, const Record*> cnames;
  for (const auto& r : m.answers)
    if (r.type == RecordType::cname && r.klass == class_in) cnames.try_emplace(name_key(r.name), &r);
  std::string current(qname);
  std::unordered_set<std::string> seen{name_key(current)};
  std::uint32_t ttl = UINT32_MAX;
  // RFC 1034 §3.6.2: follow the chain of aliases inside the answer. Every
  // link has an owner not seen before, so the chain ends within the answer.
  for (auto it = cnames.find(name_key(current)); it != cnames.end(); it = cnames.find(name_key(current))) {
    const Record& c = *it->second;
    ++a.hops;
    if (c.target.empty() || c.target == ".") {
      a.detail = fmt::format("CNAME from {} to the root name", c.name);
      return a;
    }
    if (!seen.insert(name_key(c.target)).second) {
      a.detail = fmt::format("CNAME loop at {}", c.target);
      return a;
    }
    ttl = std::min(ttl, c.ttl);
    current = c.target;
  }
  // The RRset of the final name. An AAAA record holding an IPv4-mapped
  // address (::ffff:a.b.c.d) is IPv4 to IpAddress and to the race: it is not
  // an IPv6 answer, so it is dropped rather than reported under the v6 family.
  const Family family = type == RecordType::a ? Family::v4 : Family::v6;
  bool any = false;
  for (const auto& r : m.answers) {
    if (r.type != type || r.klass != class_in || !names_equal(r.name, current)) continue;
    if (r.address.family() != family) continue;
    ttl = std::min(ttl, r.ttl);
    any = true;
    if (auto why = undialable_reason(r.address); !why.empty()) {
      if (std::none_of(a.dropped.begin(), a.dropped.end(), [&](const auto& d) { return d.address == r.address; }))
        a.dropped.push_back({r.address, std::string(why)});
    } else if (std::find(a.addresses.begin(), a.addresses.end(), r.address) == a.addresses.end()) {
      a.addresses.push_back(r.address);
    }
  }
  a.name = current;
  if (any) {
    a.kind = Answer::Kind::addresses;
    a.ttl = std::chrono::seconds(ttl);
  } else if (m.header.rcode == Rcode::nxdomain) {
    a.kind = Answer::Kind::nxdomain;  // RFC 6604 §3: about the last name of the chain
    a.ttl = negative_ttl(m);
  } else if (a.hops > 0) {
    a.kind = Answer::Kind::follow;  // the chain ends at a name with no records here: ask for it
    a.ttl = std::chrono::seconds(ttl);
  } else {
    a.kind = Answer::Kind::nodata;
    a.ttl = negative_ttl(m);
  }
  return a;
}

}  // namespace heyes::dns::detail
