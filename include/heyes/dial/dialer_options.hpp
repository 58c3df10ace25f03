// SPDX-License-Identifier: MIT
// DialerOptions: what a Dialer keeps across dials (resolver, policy, history, connectivity), built from the system.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "heyes/diagnostic.hpp"
#include "heyes/dial/options.hpp"
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
  // A file that keeps the history between processes (docs/history.md): loaded
  // when the Dialer is made, saved at most every 5 s while it is used and when
  // it goes. Empty: none. race::default_history_file() is the documented place.
  std::string history_file;
  // Told once when the history file is missing or unusable (it is ignored,
  // then rewritten) and when it cannot be saved (possibly on the Dialer's
  // saver thread); null: nobody is told.
  std::function<void(const Diagnostic&)> history_file_diagnostics;
  // NAT64 on IPv6-only hosts (automatic discovery by default); a dial may
  // override it (DialOptions::nat64). The discovery asks resolver's nameservers.
  Nat64Options nat64;
  // How the usable families are found (getifaddrs + route probe when null);
  // tests inject a host description here.
  std::shared_ptr<ConnectivityProbe> connectivity_probe;

  // resolv.conf (with RES_OPTIONS, LOCALDOMAIN), /etc/hosts and gai.conf, leniently.
  static DialerOptions from_system();
};

}  // namespace heyes
