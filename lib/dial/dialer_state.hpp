// SPDX-License-Identifier: MIT
// DialerState: what every dial of one Dialer shares (private to lib/dial).
#pragma once

#include <memory>

#include "../race/history_file.hpp"
#include "nat64.hpp"
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
  // Saves history when it goes, so it is declared after it.
  std::unique_ptr<race::detail::HistoryFile> history_file;  // null when off
  ConnectivityCache connectivity;          // the usable-family decision (AI_ADDRCONFIG), cached a few seconds
  std::shared_ptr<Nat64State> nat64;       // the NAT64 prefixes (IPv6-only hosts)
};

}  // namespace heyes::detail
