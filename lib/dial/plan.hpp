// SPDX-License-Identifier: MIT
// The plan of one dial, pure and asio-free: input checks, the families to query and wait for, the race's config.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "heyes/dial/options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/race/race.hpp"

namespace heyes::detail {

struct DialPlan {
  std::error_code error;  // the first bad input: the dial fails with it, sending nothing
  std::string host;
  std::uint16_t port = 0;
  // The candidates when no DNS is needed: the host's address literal, or the
  // caller's pre-resolved addresses (DialOptions::addresses) of the allowed
  // families. Empty: resolve the host.
  std::vector<IpAddress> given;
  std::string_view given_source;  // heyes::answer_source::literal or ::given, for the trace
  // The families the options allow (the restriction and the local
  // address's family); explicit when the caller chose them, so they are
  // queried whatever the host's connectivity says.
  FamilySet allowed = FamilySet::both();
  bool explicit_family = false;
  bool addrconfig = true;
  race::Config race;  // the options' Timings; race.expected: the families queried and waited for
  std::shared_ptr<const PolicyTable> policy;  // the options' or the Dialer's
  int first_family_count = 1;
  bool use_history = true;

  // The families to query (the race waits for exactly these).
  FamilySet families() const { return race.expected; }
  void restrict_to(FamilySet f) { race.expected = f; }
};

// Checks the inputs in the order a user reads them: the service (a port or
// /etc/services, no DNS), the family restriction, then the host (an address
// literal, or a valid name). Without error the plan queries every allowed family.
DialPlan plan_dial(std::string host, std::string_view service, const DialOptions& options,
                   std::shared_ptr<const PolicyTable> default_policy);

}  // namespace heyes::detail
