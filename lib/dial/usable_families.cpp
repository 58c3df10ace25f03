// SPDX-License-Identifier: MIT
// Usable families: query (and wait for) only the families this host can use, like AI_ADDRCONFIG.
#include "usable_families.hpp"

#include "heyes/dns/hosts.hpp"

namespace heyes::detail {

FamilySet usable_families(DialerState& dialer, std::string_view host, FamilySet requested,
                              bool explicit_family, TimePoint now, Trace& trace) {
  // An explicit family and the localhost names (RFC 6761: loopback, always
  // usable) are queried whatever the host's interfaces say.
  if (explicit_family || dns::is_localhost_name(host)) {
    if (trace.enabled()) {
      trace.add({{}, std::string(event::families_usable), std::nullopt, std::nullopt,
                 explicit_family ? "not checked: the family was chosen by the caller"
                                 : "not checked: localhost is always reachable"});
    }
    return requested;
  }
  auto c = dialer.connectivity.snapshot(now);  // shared, not copied: no allocation per dial
  if (trace.enabled()) c->note(trace);
  const FamilySet usable = requested & FamilySet(c->v6.usable, c->v4.usable);
  // No family looks usable: that is a guess that must not make the dial
  // fail on its own, so ask for everything that was requested.
  if (usable.none()) {
    trace.add({{}, std::string(event::families_usable), std::nullopt, std::nullopt,
               "no family looks usable: querying every requested family"});
    return requested;
  }
  return usable;
}

}  // namespace heyes::detail
