// SPDX-License-Identifier: MIT
// What one blocking lookup outside heyes (an NSS service, getaddrinfo) found for one family (private; no asio).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/dns/nsswitch.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"

namespace heyes::dns::detail {

struct SystemAnswer {
  SourceStatus status = SourceStatus::notfound;
  std::vector<IpAddress> addresses;  // success only
  std::string detail;                // why, when not success: "cannot load libnss_x.so.2", "getaddrinfo: ..."
};

// The family's event: the addresses; host_not_found (NOTFOUND), no_data (no
// address of the family), or name_service_failure (UNAVAIL, TRYAGAIN) with
// the detail in rcode. status is the service's status as the walk over the
// hosts: line takes it (SUCCESS without an address is NOTFOUND).
inline ResolveEvent to_event(Family family, SystemAnswer& a, std::string_view source, std::string_view name,
                             SourceStatus* status = nullptr) {
  ResolveEvent e;
  e.family = family;
  e.source = source;
  e.name = name;
  SourceStatus s = a.status;
  if (s == SourceStatus::success && a.addresses.empty()) {
    s = SourceStatus::notfound;
    e.error = errc::no_data;
  } else if (s == SourceStatus::success) {
    e.addresses = std::move(a.addresses);
  } else {
    e.error = s == SourceStatus::notfound ? errc::host_not_found : errc::name_service_failure;
    e.rcode = std::move(a.detail);
  }
  if (status) *status = s;
  return e;
}

// What a well-known service is sure to answer for name without being asked
// (no thread, no call), from what it documents: the mdns*_minimal services
// only look at names under .local (UNAVAIL for any other), myhostname only
// at the machine's own name, _gateway, _outbound and the localhost names
// (NOTFOUND for any other). nullopt: the service must be asked.
std::optional<SourceStatus> foreseen_status(std::string_view service, std::string_view name);

}  // namespace heyes::dns::detail
