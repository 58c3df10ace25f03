// SPDX-License-Identifier: MIT
// What a response means for one (name, type): addresses, a CNAME to follow, NXDOMAIN or NODATA (private).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/dns/resolver.hpp"
#include "message.hpp"

namespace heyes::dns::detail {

// New queries a lookup sends, per family and candidate, to follow a CNAME
// chain that leaves its answer. Inside one answer a chain is followed to
// its end whatever its length: the answer's own records bound it.
inline constexpr int max_cname_queries = 8;

struct Answer {
  enum class Kind { addresses, follow, nxdomain, nodata, bad } kind = Kind::bad;
  // Kind addresses, in answer order, duplicates dropped; empty when every
  // address of the RRset was dropped (see dropped).
  std::vector<IpAddress> addresses;
  std::vector<DroppedAddress> dropped;  // addresses no host can connect to, taken out of addresses
  std::string name;                  // the final owner name (addresses) or the CNAME target to query (follow)
  int hops = 0;                      // CNAME records followed inside this response
  // Positive: the smallest TTL of the CNAME chain and the RRset. Negative
  // (RFC 2308 §5): min(SOA TTL, SOA MINIMUM); nullopt when there is no SOA
  // (RFC 2308 §5: such an answer is not cached).
  std::optional<std::chrono::seconds> ttl;
  std::string detail;  // why bad
};

// Why a DNS answer's address cannot be a destination, or empty when it can:
// "unspecified" (0.0.0.0, ::: Linux connects those to this host),
// "broadcast" (255.255.255.255), "multicast" (224.0.0.0/4, ff00::/8: not TCP).
std::string_view undialable_reason(const IpAddress& a) noexcept;

// Reads a NOERROR or NXDOMAIN response to (qname, type). The CNAME chain in
// the answer section is followed from qname (names compared
// case-insensitively) to its end; a name seen twice is a loop and a CNAME
// to the root name is bad.
Answer interpret(const Message& response, std::string_view qname, RecordType type);

}  // namespace heyes::dns::detail
