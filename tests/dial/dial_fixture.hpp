// SPDX-License-Identifier: MIT
// The dial tests' loopback world: a TestServer answering AAAA ::1 + A 127.0.0.1, broken [::1]:P, working 127.0.0.1:P.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dial.hpp"
#include "heyes/trace.hpp"
#include "testing/listeners.hpp"
#include "testing/test_server.hpp"

namespace heyes::test {

// Descriptors open in this process (/proc/self/fd).
std::size_t open_fds();
// Events of one type in a trace.
std::size_t count_events(const Trace& trace, std::string_view type);
// A loopback TCP port with no listener (connects are refused).
std::uint16_t closed_port();

// The DNS server runs on its own thread; the Dialer asks only it (never the
// machine's nameserver). ready() is false (with a message) when the host has
// no IPv6 loopback, and the test then has nothing to check.
class BrokenIpv6Fixture {
 public:
  BrokenIpv6Fixture();
  ~BrokenIpv6Fixture();

  bool ready() const noexcept { return ready_; }
  Dialer& dialer() { return *dialer_; }
  // What dialer() was made with: only the test DNS server is asked.
  DialerOptions dialer_options() const;
  dns::TestServer& dns() { return *dns_; }
  std::string name() const { return "dual.heyes.test"; }
  std::uint16_t port() const noexcept { return net_->port(); }
  std::string service() const { return std::to_string(port()); }
  // addrconfig off: the host may have no global IPv6, but loopback has both.
  DialOptions options() const;
  std::size_t dns_queries() const { return dns_->queries().size(); }
  dns::Nameserver nameserver() const { return dns_->nameserver(); }
  // Accepts and closes what the working listener has queued.
  void drain() { net_->working_v4.accept_pending(); }

 private:
  bool ready_ = false;
  std::optional<testing::BrokenIpv6Setup> net_;
  asio::io_context dns_ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> dns_work_;
  std::unique_ptr<dns::TestServer> dns_;
  std::thread dns_thread_;
  std::unique_ptr<Dialer> dialer_;
};

}  // namespace heyes::test
