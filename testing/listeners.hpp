// SPDX-License-Identifier: MIT
// Working and silently broken TCP listeners on loopback for heyes-connect --demo and the tests (not installed).
#pragma once

#include <cstdint>

#include "heyes/address.hpp"

// Not part of the library: these helpers let the demo, the tests and the
// benchmarks build a "half broken network" on loopback without root. Every
// function throws std::system_error on a socket error.
namespace heyes::testing {

// A listening TCP socket (plus, for a broken one, the connection that fills
// its queue). Move-only; the destructor closes every descriptor.
class Listener {
 public:
  // Accepts connections (the kernel completes the handshake; queued
  // connections can be drained with accept_pending()). port 0: ephemeral.
  static Listener working(const IpAddress& address, std::uint16_t port = 0);

  // Silently broken: listen(fd, 0) with one connection queued and never
  // accepted, so the kernel drops further SYNs and a connect() hangs (a
  // black hole, as on a broken path). IPv6 sockets are IPV6_V6ONLY.
  static Listener broken(const IpAddress& address, std::uint16_t port = 0);

  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  std::uint16_t port() const noexcept { return port_; }
  const IpAddress& address() const noexcept { return address_; }

  // Accepts and closes every connection waiting in the queue (working
  // listeners only); returns how many. Never blocks.
  int accept_pending();

 private:
  Listener() = default;
  void close() noexcept;

  int fd_ = -1;
  int filler_fd_ = -1;  // the connection that keeps a broken listener's queue full
  IpAddress address_;
  std::uint16_t port_ = 0;
};

// The demo's network: a working listener on 127.0.0.1:P and a broken one on
// [::1]:P, both on the same port P (ephemeral; a few ports are tried when
// [::1]:P is taken).
struct BrokenIpv6Setup {
  Listener working_v4;
  Listener broken_v6;
  std::uint16_t port() const noexcept { return working_v4.port(); }
};
BrokenIpv6Setup make_broken_ipv6_setup();

// Whether the host has IPv6 loopback (::1 can be bound); false in
// containers started with IPv6 disabled.
bool have_ipv6_loopback();

}  // namespace heyes::testing
