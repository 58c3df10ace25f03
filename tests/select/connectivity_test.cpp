// SPDX-License-Identifier: MIT
// Usable-family detection on described hosts (injected interfaces and routes), the cache, and the system probe.
#include <doctest/doctest.h>

#include <dirent.h>

#include <map>

#include "heyes/select/connectivity.hpp"

using namespace heyes;

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

// A described host: its interface addresses and the destinations it has a route to.
class FakeProbe final : public ConnectivityProbe {
 public:
  std::vector<InterfaceAddress> addresses;
  std::vector<IpAddress> routes;
  int interface_calls = 0;
  int route_calls = 0;

  std::vector<InterfaceAddress> interface_addresses() override {
    ++interface_calls;
    return addresses;
  }
  std::error_code route_to(const IpAddress& destination) override {
    ++route_calls;
    for (auto& r : routes)
      if (r == destination) return {};
    return std::make_error_code(std::errc::network_unreachable);
  }
};

std::vector<InterfaceAddress> loopback_only() {
  return {{"lo", ip("127.0.0.1")}, {"lo", ip("::1")}};
}

int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

const IpAddress kTarget6 = ConnectivityTargets{}.v6;
const IpAddress kTarget4 = ConnectivityTargets{}.v4;

}  // namespace

TEST_CASE("The default probe targets are well-known global addresses") {
  CHECK(kTarget6.to_string() == "2001:4860:4860::8888");
  CHECK(kTarget4.to_string() == "8.8.8.8");
}

TEST_CASE("Dual-stack host: both families usable, by their addresses, without a route probe") {
  FakeProbe p;
  p.addresses = loopback_only();
  p.addresses.push_back({"eth0", ip("fe80::1%1")});
  p.addresses.push_back({"eth0", ip("2001:db8::5")});
  p.addresses.push_back({"eth0", ip("192.0.2.10")});
  auto c = detect_connectivity(p);
  CHECK(c.usable(Family::v6));
  CHECK(c.usable(Family::v4));
  CHECK(c.v6.reason == "has routable address 2001:db8::5 on eth0");
  CHECK(c.v4.reason == "has routable address 192.0.2.10 on eth0");
  CHECK(p.route_calls == 0);
  CHECK(c.summary() ==
        "ipv6 usable (has routable address 2001:db8::5 on eth0); ipv4 usable (has routable address 192.0.2.10 on eth0)");
}

TEST_CASE("IPv4-only host: IPv6 with only link-local and no route is unusable") {
  FakeProbe p;
  p.addresses = loopback_only();
  p.addresses.push_back({"eth0", ip("fe80::1%1")});
  p.addresses.push_back({"eth0", ip("198.51.100.7")});
  p.routes = {kTarget4};
  auto c = detect_connectivity(p);
  CHECK_FALSE(c.usable(Family::v6));
  CHECK(c.usable(Family::v4));
  CHECK(c.v6.reason == "no routable address and no route to 2001:4860:4860::8888 (" +
                           std::make_error_code(std::errc::network_unreachable).message() + ")");
  CHECK(p.route_calls == 1);  // only for IPv6
  // Loopback stays usable whatever the family.
  CHECK(c.usable_destination(ip("::1")));
  CHECK(c.usable_destination(ip("127.0.0.1")));
  CHECK(c.usable_destination(ip("192.0.2.1")));
  CHECK_FALSE(c.usable_destination(ip("2001:db8::1")));
}

TEST_CASE("IPv6-only host with a NAT64 route: IPv4 unusable without an address or a route") {
  FakeProbe p;
  p.addresses = loopback_only();
  p.addresses.push_back({"wlan0", ip("2001:db8:1::42")});
  p.addresses.push_back({"wlan0", ip("169.254.3.4")});  // link-local IPv4 does not count
  auto c = detect_connectivity(p);
  CHECK(c.usable(Family::v6));
  CHECK_FALSE(c.usable(Family::v4));
  CHECK(c.v4.reason.find("no route to 8.8.8.8") != std::string::npos);
}

TEST_CASE("No routable address but a route (e.g. a point-to-point link): usable") {
  FakeProbe p;
  p.addresses = loopback_only();
  p.routes = {kTarget6};
  auto c = detect_connectivity(p);
  CHECK(c.usable(Family::v6));
  CHECK(c.v6.reason == "no routable address, but a route to 2001:4860:4860::8888");
  CHECK_FALSE(c.usable(Family::v4));
}

TEST_CASE("Loopback-only host: nothing but loopback destinations") {
  FakeProbe p;
  p.addresses = loopback_only();
  p.addresses.push_back({"dummy0", ip("::")});
  auto c = detect_connectivity(p);
  CHECK_FALSE(c.usable(Family::v6));
  CHECK_FALSE(c.usable(Family::v4));
  CHECK(c.usable_destination(ip("::1")));
  CHECK(c.usable_destination(ip("127.0.0.53")));
  CHECK_FALSE(c.usable_destination(ip("198.51.100.1")));
}

TEST_CASE("The trace gets one families_usable event per family, with the reason") {
  FakeProbe p;
  p.addresses = {{"eth0", ip("192.0.2.10")}};
  Trace trace;
  detect_connectivity(p).note(trace, std::chrono::microseconds(7));
  REQUIRE(trace.events().size() == 2);
  CHECK(trace.events()[0].type == event::families_usable);
  CHECK(trace.events()[0].family == Family::v6);
  CHECK(trace.events()[0].detail.rfind("unusable: no routable address", 0) == 0);
  CHECK(trace.events()[1].family == Family::v4);
  CHECK(trace.events()[1].detail == "usable: has routable address 192.0.2.10 on eth0");
  CHECK(trace.events()[1].t == std::chrono::microseconds(7));
}

TEST_CASE("The cache answers for its expiry, then detects again; invalidate() forces it") {
  auto p = std::make_shared<FakeProbe>();
  p->addresses = {{"eth0", ip("192.0.2.10")}};
  ConnectivityCache::Options o;
  o.expiry = std::chrono::seconds(5);
  ConnectivityCache cache(p, o);
  auto t0 = ConnectivityCache::Clock::time_point{} + std::chrono::hours(1);
  CHECK_FALSE(cache.get(t0).usable(Family::v6));
  // IPv6 comes up: the cache does not see it before the expiry.
  p->addresses.push_back({"eth0", ip("2001:db8::5")});
  CHECK_FALSE(cache.get(t0 + std::chrono::milliseconds(4999)).usable(Family::v6));
  CHECK(p->interface_calls == 1);
  CHECK(cache.get(t0 + std::chrono::seconds(5)).usable(Family::v6));
  CHECK(p->interface_calls == 2);
  // It goes away again; a failed dial invalidates the cache.
  p->addresses.pop_back();
  cache.invalidate();
  CHECK_FALSE(cache.get(t0 + std::chrono::seconds(6)).usable(Family::v6));
  CHECK(p->interface_calls == 3);
}

TEST_CASE("The system probe: interfaces include loopback, a loopback route exists, no fd is left open") {
  SystemConnectivityProbe probe;
  int before = open_fds();
  auto addresses = probe.interface_addresses();
  bool has_lo4 = false;
  for (auto& a : addresses)
    if (a.address == ip("127.0.0.1")) has_lo4 = true;
  CHECK(has_lo4);
  CHECK_FALSE(probe.route_to(ip("127.0.0.1")));
  // Probe loopback only (tests contact nothing else), through the whole decision.
  ConnectivityTargets loopback{ip("::1"), ip("127.0.0.1")};
  auto c = detect_connectivity(probe, loopback);
  CHECK(c.usable(Family::v4));
  CHECK_FALSE(c.v6.reason.empty());
  CHECK(open_fds() == before);
}
