// SPDX-License-Identifier: MIT
// DialerState: what every dial of one Dialer shares (private to lib/dial).
#pragma once

#include <memory>

#include "heyes/dial.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/race/history.hpp"
#include "heyes/select/connectivity.hpp"
#include "heyes/select/policy.hpp"

namespace heyes::detail {

struct DialerState {
  explicit DialerState(std::shared_ptr<ConnectivityProbe> probe) : connectivity(std::move(probe)) {}

  std::shared_ptr<dns::Resolver> resolver;
  std::shared_ptr<const PolicyTable> policy;
  std::unique_ptr<race::History> history;  // null when off
  ConnectivityCache connectivity;          // the usable-family decision (AI_ADDRCONFIG), cached a few seconds
};

}  // namespace heyes::detail
