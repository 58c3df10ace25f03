// SPDX-License-Identifier: MIT
// What a response means for one (name, type): addresses, a CNAME to follow, NXDOMAIN or NODATA (private).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"
#include "message.hpp"

namespace heyes::dns::detail {

inline constexpr int max_cname_hops = 8;

struct Answer {
  enum class Kind { addresses, follow, nxdomain, nodata, bad } kind = Kind::bad;
  std::vector<IpAddress> addresses;  // kind addresses, in answer order, duplicates dropped
  std::string name;                  // the final owner name (addresses) or the CNAME target to query (follow)
  int hops = 0;                      // CNAME records followed inside this response
  // Positive: the smallest TTL of the CNAME chain and the RRset. Negative
  // (RFC 2308 §5): min(SOA TTL, SOA MINIMUM); nullopt when there is no SOA
  // (RFC 2308 §5: such an answer is not cached).
  std::optional<std::chrono::seconds> ttl;
  std::string detail;  // why bad
};

// Reads a NOERROR or NXDOMAIN response to (qname, type). The CNAME chain in
// the answer section is followed from qname (names compared
// case-insensitively), at most hops_left links, a name seen twice is a loop.
Answer interpret(const Message& response, std::string_view qname, RecordType type, int hops_left);

}  // namespace heyes::dns::detail
