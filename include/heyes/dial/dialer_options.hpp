// SPDX-License-Identifier: MIT
// DialerOptions: what a Dialer keeps across dials (resolver, policy, history, connectivity), built from the system.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "heyes/diagnostic.hpp"
#include "heyes/dial/options.hpp"
#include "heyes/dns/name_resolver.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/race/history.hpp"

namespace heyes {

class PolicyTable;        // heyes/select/policy.hpp
class ConnectivityProbe;  // heyes/select/connectivity.hpp
namespace detail {
struct SystemOrigin;  // what from_system() read (private)
}

// The system's configuration files. DialerOptions::from_system() reads them
// from here; tests and sandboxes point them elsewhere.
struct SystemFiles {
  std::string resolv_conf = "/etc/resolv.conf";
  std::string hosts = "/etc/hosts";
  std::string gai_conf = "/etc/gai.conf";
  std::string nsswitch_conf = "/etc/nsswitch.conf";
};

struct DialerOptions {
  dns::ResolverOptions resolver;                    // nameservers, search list, hosts, nsswitch sources, cache size
  // Where names are resolved instead of heyes's own resolver (the seam,
  // heyes/dns/name_resolver.hpp): system_name_resolver() for getaddrinfo,
  // or the caller's own. Null: heyes's resolver, from resolver above.
  // Address literals never reach it; the NAT64 discovery still asks
  // resolver's nameservers.
  std::shared_ptr<NameResolver> name_resolver;
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

  // Following the machine (docs/config.md): the Dialer re-reads the system
  // files it uses when they change. It follows resolv.conf while resolver.config
  // is still what from_system() read from it, the hosts file while
  // resolver.hosts is still that file's table, nsswitch.conf while
  // resolver.sources is still what was read from it, and gai.conf while
  // policy is null; a value the caller set or changed is kept as it is. The files are
  // stat()ed at most once per config_check_interval (and at the next dial
  // after a DNS failure), by the dial that finds the interval over; only a
  // changed file is read. Zero: never checked (reload() still re-reads).
  std::chrono::milliseconds config_check_interval{5000};
  // Watch the network (docs/config.md): at the same checks, the rtnetlink
  // messages that arrived since are read from one non-blocking socket per
  // process (no thread); an address or route that came or went makes the
  // dial that noticed it probe the usable families again, mark the history's
  // failures and the DNS cache stale and forget the discovered NAT64
  // prefixes (a network_change trace event says so).
  bool watch_network = true;
  // Told when a changed file is not taken (unreadable or malformed: the
  // configuration read before stays) and of the warnings of one that is; on
  // the thread of the dial that checked, or of reload(). Null: nobody is told.
  std::function<void(const Diagnostic&)> config_diagnostics;
  // Where from_system() read the files and what it read (set by it): what
  // tells the Dialer which of its values came from the system. Null: only
  // gai.conf (at /etc/gai.conf) is followed, when policy is null.
  std::shared_ptr<const detail::SystemOrigin> system_origin;

  // resolv.conf (with RES_OPTIONS, LOCALDOMAIN), hosts, nsswitch.conf's
  // hosts: line and gai.conf, leniently.
  static DialerOptions from_system(const SystemFiles& files = {});
};

}  // namespace heyes
