// SPDX-License-Identifier: MIT
// Which address families this host can use (AI_ADDRCONFIG plus a route probe), with the reasons, cached.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/trace.hpp"

namespace heyes {

// One address configured on one of the host's interfaces.
struct InterfaceAddress {
  std::string interface;  // "eth0"
  IpAddress address;
};

// The two questions asked of the system, swappable so tests can describe any
// host without touching the network.
class ConnectivityProbe {
 public:
  virtual ~ConnectivityProbe() = default;
  // The addresses of the interfaces that are up.
  virtual std::vector<InterfaceAddress> interface_addresses() = 0;
  // Whether the kernel has a route to destination; an empty error means yes.
  virtual std::error_code route_to(const IpAddress& destination) = 0;
};

// getifaddrs(), and connect() of an unconnected UDP socket (no packet is
// sent; the socket is closed before returning).
class SystemConnectivityProbe final : public ConnectivityProbe {
 public:
  std::vector<InterfaceAddress> interface_addresses() override;
  std::error_code route_to(const IpAddress& destination) override;
};

struct FamilyStatus {
  bool usable = false;
  std::string reason;  // "has routable address 2001:db8::5 on eth0", "no route to 2001:4860:4860::8888 (...)"
};

struct Connectivity {
  FamilyStatus v6;
  FamilyStatus v4;

  const FamilyStatus& status(Family f) const noexcept { return f == Family::v6 ? v6 : v4; }
  bool usable(Family f) const noexcept { return status(f).usable; }
  // A destination can be tried: loopback always, others when their family is usable.
  bool usable_destination(const IpAddress& destination) const noexcept;
  // "ipv6 usable (has routable address ...); ipv4 unusable (...)"
  std::string summary() const;
  // Adds one families_usable event per family to trace, at time at.
  void note(Trace& trace, std::chrono::microseconds at = {}) const;
};

// Well-known global addresses whose route is probed (Google Public DNS;
// nothing is ever sent to them).
struct ConnectivityTargets {
  IpAddress v6 = IpAddress::v6({0x20, 0x01, 0x48, 0x60, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x88});
  IpAddress v4 = IpAddress::v4(0x08080808u);
};

// A family is usable when the host has an address of it that is neither
// loopback nor link-local, or else a route to the family's target.
Connectivity detect_connectivity(ConnectivityProbe& probe, const ConnectivityTargets& targets = {});

struct ConnectivityCacheOptions {
  Duration expiry = std::chrono::seconds(5);
  ConnectivityTargets targets{};
};

// detect_connectivity() behind a short-lived cache, safe to share between threads.
class ConnectivityCache {
 public:
  using Clock = heyes::Clock;
  using Options = ConnectivityCacheOptions;

  ConnectivityCache();  // the SystemConnectivityProbe, default options
  // A null probe means the SystemConnectivityProbe.
  explicit ConnectivityCache(std::shared_ptr<ConnectivityProbe> probe, Options options = {});

  // The cached answer, detected again when older than the expiry.
  Connectivity get(Clock::time_point now = Clock::now());
  // The same answer shared rather than copied (the dial asks on every dial).
  std::shared_ptr<const Connectivity> snapshot(Clock::time_point now = Clock::now());
  // Forget the cached answer (for example after a dial failed): the next get() detects again.
  void invalidate();

 private:
  std::shared_ptr<ConnectivityProbe> probe_;
  Options options_;
  std::mutex mutex_;
  std::shared_ptr<const Connectivity> cached_;
  Clock::time_point detected_{};
};

}  // namespace heyes
