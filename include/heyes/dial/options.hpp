// SPDX-License-Identifier: MIT
// DialOptions (one dial) and DialerOptions (what a Dialer keeps), with RFC 8305 section 8 defaults.
#pragma once

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/race/history.hpp"

namespace heyes {

class PolicyTable;        // heyes/select/policy.hpp
class ConnectivityProbe;  // heyes/select/connectivity.hpp

// Which address families a dial may use.
enum class FamilyRestriction { any, v4, v6 };

// Runs on every attempt's socket after open() (and bind(), when a local
// address is set) and before connect(). Setting ec aborts that attempt only:
// it counts as a failed attempt with that cause.
using SocketSetup = std::function<void(asio::ip::tcp::socket& socket, std::error_code& ec)>;

// Options of one dial. The defaults are RFC 8305 section 8's.
struct DialOptions {
  // RFC 8305 section 3: after an A answer, wait this long for the AAAA answer.
  std::chrono::milliseconds resolution_delay{50};
  // RFC 8305 section 4: addresses of the preferred family tried before alternating.
  int first_family_count = 1;
  // RFC 8305 section 5: the stagger between attempts; clamped to [10 ms, 2 s].
  std::chrono::milliseconds attempt_delay{250};
  // With history on, the delay may follow the destination's smoothed RTT (2 x SRTT, 100 ms..2 s).
  bool attempt_delay_from_history = true;
  // Attempts in flight at once; at the cap the race waits for one to end.
  int max_in_flight = 6;
  // Overall limit from the start of the dial (DNS included); 0 = none.
  std::chrono::milliseconds timeout{0};
  // Restrict the dial to one family (also restricts the DNS queries sent).
  FamilyRestriction family = FamilyRestriction::any;
  // Address ordering; null = the Dialer's (from /etc/gai.conf or RFC 6724's default table).
  std::shared_ptr<const PolicyTable> policy;
  // Called on every attempt's socket before its connect (TCP_NODELAY, SO_MARK, ...).
  SocketSetup socket_setup;
  // Bind every attempt to this address (port 0) before connecting; only
  // destinations of its family are tried.
  std::optional<IpAddress> local_address;
  // Record the timeline in DialResult::trace (the socket-only forms never record it).
  bool keep_trace = true;
  // Use and update the Dialer's connection history (RTT, recent failures).
  bool use_history = true;
  // Issue 7 / AI_ADDRCONFIG: do not query (nor wait for) a family this host
  // cannot use. Turn off on hosts whose addresses change under the program.
  bool addrconfig = true;
};

// What a Dialer keeps across dials.
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
  // How the usable families are found (getifaddrs + route probe when null);
  // tests inject a host description here.
  std::shared_ptr<ConnectivityProbe> connectivity_probe;

  // resolv.conf (with RES_OPTIONS, LOCALDOMAIN), /etc/hosts and gai.conf, leniently.
  static DialerOptions from_system();
};

}  // namespace heyes
