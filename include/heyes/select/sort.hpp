// SPDX-License-Identifier: MIT
// RFC 6724 destination address sorting and RFC 8305 section 4 family interleaving.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "heyes/address.hpp"

namespace heyes {

class PolicyTable;  // heyes/select/policy.hpp

// What the system would use as the source address towards one destination.
struct SourceInfo {
  IpAddress address;
  int prefix_length = -1;   // of the source's on-link prefix; -1 when unknown
  bool deprecated = false;  // RFC 6724 rule 3
  bool home = false;        // Mobile IPv6 home address (rule 4); never seen on plain Linux
  bool temporary = false;   // RFC 8981 temporary address (rule 7 is about native; kept for tracing)
};

// Finds the source address for a destination. Swappable so tests and
// heyes-connect --source can supply sources without touching the network.
class SourceLookup {
 public:
  virtual ~SourceLookup() = default;
  // nullopt: no route, the destination is unusable (rule 1).
  virtual std::optional<SourceInfo> source_for(const IpAddress& destination) = 0;
};

// The kernel's choice: an unconnected UDP socket connect()ed to the
// destination, then getsockname() (no packet is sent); deprecation and prefix
// length from the interface addresses (getifaddrs / netlink).
class SystemSourceLookup final : public SourceLookup {
 public:
  std::optional<SourceInfo> source_for(const IpAddress& destination) override;
};

// An extra rule applied between RFC 6724 rules 8 and 9 (RFC 8305 section 4:
// prefer lower historical RTT). Negative: a goes first; positive: b first; 0: no opinion.
using ExtraRule = std::function<int(const IpAddress& a, const IpAddress& b)>;

// RFC 6724 section 6 rules 1-10 as a stable sort (ties keep the input order).
std::vector<IpAddress> sort_destinations(std::span<const IpAddress> destinations, const PolicyTable& policy,
                                         SourceLookup& sources, const ExtraRule& extra = {});

// RFC 8305 section 4: starting with the family of the first address, take
// first_family_count addresses of it, then alternate one of each family;
// within a family the sorted order is kept. first_family_count < 1 counts as 1.
// continue_after: the family of the last attempt already started; the
// alternation continues from it (the other family first, one of each).
std::vector<IpAddress> interleave_families(std::span<const IpAddress> sorted, int first_family_count = 1,
                                           std::optional<Family> continue_after = std::nullopt);

// What one ordering takes besides the policy and the sources.
struct OrderOptions {
  int first_family_count = 1;
  std::optional<Family> continue_after;  // see interleave_families
  // The connection history's view: addresses that failed recently form a
  // group of their own after all the others, and the RTT rule sits between
  // RFC 6724 rules 8 and 9. Empty: no history.
  std::function<bool(const IpAddress&)> recently_failed;
  ExtraRule history_rule;
};

// The one ordering of a dial's candidates: the addresses that have not
// failed recently, then those that have, each group sorted by RFC 6724 (with
// the history rule) and interleaved by RFC 8305 section 4. The group comes
// first because the history rule sits below rule 6 (precedence): on its own
// it could never put a black-holed IPv6 behind IPv4. One address is returned
// as it is (no source lookup).
std::vector<IpAddress> order_destinations(std::vector<IpAddress> candidates, const PolicyTable& policy,
                                          SourceLookup& sources, const OrderOptions& options);

}  // namespace heyes
