// SPDX-License-Identifier: MIT
// DialerOptions: what a Dialer keeps across dials (resolver, policy, history, connectivity), built from the system.
#pragma once

#include <memory>

#include "heyes/dns/resolver.hpp"
#include "heyes/race/history.hpp"

namespace heyes {

class PolicyTable;        // heyes/select/policy.hpp
class ConnectivityProbe;  // heyes/select/connectivity.hpp

struct DialerOptions {
  dns::ResolverOptions resolver;                    // nameservers, search list, hosts, cache size
  std::shared_ptr<const PolicyTable> policy;        // null = PolicyTable::system()
  bool history = true;                              // keep a connection history
  race::History::Options history_options;
  // How the usable families are found (getifaddrs + route probe when null);
  // tests inject a host description here.
  std::shared_ptr<ConnectivityProbe> connectivity_probe;

  // resolv.conf (with RES_OPTIONS, LOCALDOMAIN), /etc/hosts and gai.conf, leniently.
  static DialerOptions from_system();
};

}  // namespace heyes
