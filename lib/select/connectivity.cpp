// SPDX-License-Identifier: MIT
// Usable-family detection: interface addresses (getifaddrs) first, then a UDP route probe; cached.
#include "heyes/select/connectivity.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace heyes {
namespace {

std::optional<IpAddress> from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    return IpAddress::v4(ntohl(in.sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    IpAddress::Bytes b{};
    std::memcpy(b.data(), &in6.sin6_addr, b.size());
    return IpAddress::v6(b, in6.sin6_scope_id);
  }
  return std::nullopt;
}

// Fills a sockaddr for destination port 9 (discard); the port does not
// matter, as nothing is sent.
socklen_t to_sockaddr(const IpAddress& a, sockaddr_storage& out) {
  out = {};
  if (a.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(9);
    auto b = a.v4_bytes();
    std::memcpy(&in->sin_addr, b.data(), b.size());
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(9);
  std::memcpy(&in6->sin6_addr, a.bytes().data(), a.bytes().size());
  in6->sin6_scope_id = a.scope_id();
  return sizeof(sockaddr_in6);
}

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
  socklen_t len = to_sockaddr(destination, ss);
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {errno, std::system_category()};
  // connect() on a UDP socket only looks the route up: no packet leaves.
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len);
  std::error_code ec = rc == 0 ? std::error_code{} : std::error_code{errno, std::system_category()};
  ::close(fd);
  return ec;
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
