// SPDX-License-Identifier: MIT
// Interpreting a response: CNAME chain, the RRset of the final name, RFC 2308 negative TTL.
#include "answer.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace heyes::dns::detail {
namespace {

const Record* find_cname(const Message& m, std::string_view owner) {
  for (const auto& r : m.answers)
    if (r.type == RecordType::cname && r.klass == class_in && names_equal(r.name, owner)) return &r;
  return nullptr;
}

// RFC 2308 §5: the negative TTL is the smaller of the SOA's own TTL and its
// MINIMUM field; without an SOA the answer must not be cached.
std::optional<std::chrono::seconds> negative_ttl(const Message& m) {
  for (const auto& r : m.authority)
    if (r.type == RecordType::soa) return std::chrono::seconds(std::min(r.ttl, r.soa.minimum));
  return std::nullopt;
}

}  // namespace

Answer interpret(const Message& m, std::string_view qname, RecordType type, int hops_left) {
  Answer a;
  std::string current(qname);
  std::vector<std::string> seen{current};
  std::uint32_t ttl = UINT32_MAX;
  // RFC 1034 §3.6.2: follow the chain of aliases inside the answer.
  while (const Record* c = find_cname(m, current)) {
    if (++a.hops > hops_left) {
      a.detail = fmt::format("CNAME chain from {} longer than {} links", qname, max_cname_hops);
      return a;
    }
    if (std::any_of(seen.begin(), seen.end(), [&](const auto& s) { return names_equal(s, c->target); })) {
      a.detail = fmt::format("CNAME loop at {}", c->target);
      return a;
    }
    ttl = std::min(ttl, c->ttl);
    current = c->target;
    seen.push_back(current);
  }
  // The RRset of the final name. An AAAA record holding an IPv4-mapped
  // address (::ffff:a.b.c.d) is IPv4 to IpAddress and to the race: it is not
  // an IPv6 answer, so it is dropped rather than reported under the v6 family.
  const Family family = type == RecordType::a ? Family::v4 : Family::v6;
  for (const auto& r : m.answers) {
    if (r.type != type || r.klass != class_in || !names_equal(r.name, current)) continue;
    if (r.address.family() != family) continue;
    ttl = std::min(ttl, r.ttl);
    if (std::find(a.addresses.begin(), a.addresses.end(), r.address) == a.addresses.end())
      a.addresses.push_back(r.address);
  }
  a.name = current;
  if (!a.addresses.empty()) {
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
