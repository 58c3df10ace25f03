// SPDX-License-Identifier: MIT
// Usable-family detection: interface addresses (getifaddrs) first, then a UDP route probe; cached.
#include "heyes/select/connectivity.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/fd.hpp"
#include "common/sockaddr.hpp"

namespace heyes {
namespace {

using detail::from_sockaddr;
using detail::to_sockaddr;

// Destination port 9 (discard) for the route probe; the port does not
// matter, as nothing is sent.
constexpr std::uint16_t kProbePort = 9;

// The first address of family f that is not loopback, link-local or unspecified.
const InterfaceAddress* routable_address(const std::vector<InterfaceAddress>& addresses, Family f) {
  for (const auto& ia : addresses) {
    const IpAddress& a = ia.address;
    if (a.family() == f && !a.is_loopback() && !a.is_link_local() && !a.is_unspecified()) return &ia;
  }
  return nullptr;
}

FamilyStatus decide(ConnectivityProbe& probe, const std::vector<InterfaceAddress>& addresses, Family f,
                    const IpAddress& target) {
  // Like AI_ADDRCONFIG: an address of the family other than loopback and link-local.
  if (const auto* ia = routable_address(addresses, f))
    return {true, "has routable address " + ia->address.to_string() + " on " + ia->interface};
  // Else the kernel's routing table decides (a host behind NAT64/464XLAT, say).
  std::error_code ec = probe.route_to(target);
  if (!ec) return {true, "no routable address, but a route to " + target.to_string()};
  return {false, "no routable address and no route to " + target.to_string() + " (" + ec.message() + ")"};
}

}  // namespace

std::vector<InterfaceAddress> SystemConnectivityProbe::interface_addresses() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_UP) == 0) continue;
    if (auto a = from_sockaddr(i->ifa_addr)) out.push_back({i->ifa_name ? i->ifa_name : "", *a});
  }
  ::freeifaddrs(list);
  return out;
}

std::error_code SystemConnectivityProbe::route_to(const IpAddress& destination) {
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(destination, kProbePort, ss);
  detail::UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return {errno, std::system_category()};
  // connect() on a UDP socket only looks the route up: no packet leaves.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) return {errno, std::system_category()};
  return {};
}

bool Connectivity::usable_destination(const IpAddress& destination) const noexcept {
  return destination.is_loopback() || usable(destination.family());
}

std::string Connectivity::summary() const {
  auto one = [](Family f, const FamilyStatus& s) {
    return std::string(to_string(f)) + (s.usable ? " usable (" : " unusable (") + s.reason + ")";
  };
  return one(Family::v6, v6) + "; " + one(Family::v4, v4);
}

void Connectivity::note(Trace& trace, std::chrono::microseconds at) const {
  for (Family f : {Family::v6, Family::v4}) {
    const FamilyStatus& s = status(f);
    trace.add(TraceEvent{at, std::string(event::families_usable), f, std::nullopt,
                         (s.usable ? "usable: " : "unusable: ") + s.reason});
  }
}

Connectivity detect_connectivity(ConnectivityProbe& probe, const ConnectivityTargets& targets) {
  auto addresses = probe.interface_addresses();
  return {decide(probe, addresses, Family::v6, targets.v6), decide(probe, addresses, Family::v4, targets.v4)};
}

ConnectivityCache::ConnectivityCache() : ConnectivityCache(nullptr) {}

ConnectivityCache::ConnectivityCache(std::shared_ptr<ConnectivityProbe> probe, Options options)
    : probe_(probe ? std::move(probe) : std::make_shared<SystemConnectivityProbe>()), options_(options) {}

Connectivity ConnectivityCache::get(Clock::time_point now) { return *snapshot(now); }

std::shared_ptr<const Connectivity> ConnectivityCache::snapshot(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // Detect again when nothing is cached, the answer expired, or the clock went back.
  if (!cached_ || now - detected_ >= options_.expiry || now < detected_) {
    cached_ = std::make_shared<const Connectivity>(detect_connectivity(*probe_, options_.targets));
    detected_ = now;
  }
  return cached_;
}

void ConnectivityCache::invalidate() {
  std::lock_guard lock(mutex_);
  cached_.reset();
}

}  // namespace heyes
