// SPDX-License-Identifier: MIT
// DialerState: what every dial of one Dialer shares (private to lib/dial).
#pragma once

#include <memory>

#include "../race/history_file.hpp"
#include "nat64.hpp"
#include "system_config.hpp"
#include "heyes/dial.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/race/history.hpp"
#include "heyes/select/connectivity.hpp"
#include "heyes/select/policy.hpp"

namespace heyes::detail {

struct DialerState {
  explicit DialerState(std::shared_ptr<ConnectivityProbe> probe) : connectivity(std::move(probe)) {}

  // The resolver, the policy table and the NAT64 state, as a snapshot that a
  // change of the system files replaces (system_config.hpp).
  std::unique_ptr<SystemConfig> config;
  std::unique_ptr<race::History> history;  // null when off
  // Saves history when it goes, so it is declared after it.
  std::unique_ptr<race::detail::HistoryFile> history_file;  // null when off
  ConnectivityCache connectivity;          // the usable-family decision (AI_ADDRCONFIG), cached a few seconds
  std::shared_ptr<NameResolver> name_resolver;  // the caller's resolver; null: the snapshot's
};

}  // namespace heyes::detail
