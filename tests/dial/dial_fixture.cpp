// SPDX-License-Identifier: MIT
// The dial tests' loopback world (see dial_fixture.hpp).
#include "dial_fixture.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace heyes::test {

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::size_t count_events(const Trace& trace, std::string_view type) {
  return static_cast<std::size_t>(std::count_if(trace.events().begin(), trace.events().end(),
                                                [&](const TraceEvent& e) { return e.type == type; }));
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  ::close(fd);  // bound, never listened on, now closed: a SYN gets a RST
  return ntohs(sin.sin_port);
}

BrokenIpv6Fixture::BrokenIpv6Fixture() {
  if (!testing::have_ipv6_loopback()) {
    MESSAGE("no IPv6 loopback on this host: the dual-stack dial tests have nothing to check");
    return;
  }
  net_.emplace(testing::make_broken_ipv6_setup());
  dns_ = std::make_unique<dns::TestServer>(dns_ioc_.get_executor());
  dns_->add_host(name(), {*IpAddress::parse("::1"), *IpAddress::parse("127.0.0.1")});
  dns_work_.emplace(dns_ioc_.get_executor());
  dns_thread_ = std::thread([this] { dns_ioc_.run(); });

  dialer_ = std::make_unique<Dialer>(dialer_options());
  ready_ = true;
}

DialerOptions BrokenIpv6Fixture::dialer_options() const {
  DialerOptions o;
  o.resolver.config.nameservers = {dns_->nameserver()};
  o.resolver.config.timeout = std::chrono::seconds(1);
  o.resolver.config.attempts = 1;
  return o;
}

BrokenIpv6Fixture::~BrokenIpv6Fixture() {
  if (!dns_) return;
  dns_work_.reset();
  dns_ioc_.stop();
  dns_thread_.join();
  dns_.reset();  // the executor is not running any more
}

DialOptions BrokenIpv6Fixture::options() const {
  DialOptions o;
  o.addrconfig = false;
  o.use_history = false;  // each test sees the black hole afresh
  return o;
}

}  // namespace heyes::test
