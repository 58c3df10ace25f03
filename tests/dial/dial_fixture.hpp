// SPDX-License-Identifier: MIT
// The dial tests' loopback world: a TestServer answering AAAA ::1 + A 127.0.0.1, broken [::1]:P, working 127.0.0.1:P.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dial.hpp"
#include "heyes/trace.hpp"
#include "support/host_requirements.hpp"
#include "testing/listeners.hpp"
#include "testing/test_server.hpp"

namespace heyes::test {

// Descriptors open in this process (/proc/self/fd).
std::size_t open_fds();
// Events of one type in a trace.
std::size_t count_events(const Trace& trace, std::string_view type);
// "type address" (or "type") of each event whose type is one of types, in
// trace order: the behaviour of a dial, asserted without timing it.
std::vector<std::string> event_types(const Trace& trace, std::initializer_list<std::string_view> types);
// A loopback TCP port with no listener (connects are refused).
std::uint16_t closed_port();

// The DNS server runs on its own thread; the Dialer asks only it (never the
// machine's nameserver). The name() answers ::1 and 127.0.0.1 with a broken
// (black-holed) [::1]:P and a working 127.0.0.1:P when the stack is
// broken_ipv6, and 127.0.0.1 only, to a working 127.0.0.1:P, when ipv4_only.
class LoopbackFixture {
 public:
  enum class Stack { ipv4_only, broken_ipv6 };
  explicit LoopbackFixture(Stack stack);
  ~LoopbackFixture();
  LoopbackFixture(const LoopbackFixture&) = delete;
  LoopbackFixture& operator=(const LoopbackFixture&) = delete;

  Dialer& dialer() { return *dialer_; }
  // What dialer() was made with: only the test DNS server is asked.
  DialerOptions dialer_options() const;
  dns::TestServer& dns() { return *dns_; }
  std::string name() const { return "dual.heyes.test"; }
  std::uint16_t port() const noexcept { return working_v4().port(); }
  std::string service() const { return std::to_string(port()); }
  // addrconfig off: the host may have no global IPv6, but loopback has both.
  DialOptions options() const;
  std::size_t dns_queries() const { return dns_->queries().size(); }
  dns::Nameserver nameserver() const { return dns_->nameserver(); }
  // Accepts and closes what the working listener has queued.
  void drain() { working_v4_mut().accept_pending(); }

 private:
  const testing::Listener& working_v4() const { return net_ ? net_->working_v4 : *v4_; }
  testing::Listener& working_v4_mut() { return net_ ? net_->working_v4 : *v4_; }

  std::optional<testing::BrokenIpv6Setup> net_;  // broken_ipv6
  std::optional<testing::Listener> v4_;          // ipv4_only
  asio::io_context dns_ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> dns_work_;
  std::unique_ptr<dns::TestServer> dns_;
  std::thread dns_thread_;
  std::unique_ptr<Dialer> dialer_;
};

// IPv4 only: runs on every host.
struct Ipv4Fixture : LoopbackFixture {
  Ipv4Fixture() : LoopbackFixture(Stack::ipv4_only) {}
};

// The demo's half-broken network; needs IPv6 on loopback (its tests are in
// the ipv6_loopback_suite).
struct BrokenIpv6Fixture : LoopbackFixture {
  BrokenIpv6Fixture() : LoopbackFixture(Stack::broken_ipv6) {}
};

}  // namespace heyes::test
