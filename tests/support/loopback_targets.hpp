// SPDX-License-Identifier: MIT
// Loopback connect targets for load tests and benchmarks: accepting, refusing and silently broken.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace heyes::test {

// A TCP listener on a loopback address and an ephemeral port, served by its
// own thread with its own asio io_context: it accepts every connection and
// closes it at once. Clients should close with SO_LINGER 0 (a reset), so no
// TIME_WAIT piles up on either side.
class AcceptingListener {
 public:
  // thread_init runs first on the listener's thread (e.g. to exclude it from
  // allocation counting).
  explicit AcceptingListener(const std::string& address = "127.0.0.1", std::function<void()> thread_init = {});
  ~AcceptingListener();
  AcceptingListener(const AcceptingListener&) = delete;
  AcceptingListener& operator=(const AcceptingListener&) = delete;

  std::uint16_t port() const noexcept;
  std::uint64_t accepted() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A port on the address that refuses connections: a TCP socket bound to it
// but not listening (kept open, so no one else can take the port).
class RefusingPort {
 public:
  explicit RefusingPort(const std::string& address = "127.0.0.1");
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A silently broken address without root: a listener with listen(fd, 0)
// whose one queued connection is never accepted. The accept queue is full,
// so the kernel drops further SYNs and a connect hangs until its timeout.
class BlackholeListener {
 public:
  explicit BlackholeListener(const std::string& address = "127.0.0.1");
  ~BlackholeListener();
  BlackholeListener(const BlackholeListener&) = delete;
  BlackholeListener& operator=(const BlackholeListener&) = delete;

  std::uint16_t port() const noexcept { return port_; }

 private:
  int listen_fd_ = -1;
  int queued_fd_ = -1;
  std::uint16_t port_ = 0;
};

// A nameserver that is up but never answers: a UDP socket bound to a
// loopback address and an ephemeral port that nobody reads. Queries to it are
// neither answered nor refused (no ICMP port unreachable); they wait for
// their timeout.
class SilentUdpPort {
 public:
  explicit SilentUdpPort(const std::string& address = "127.0.0.1");
  ~SilentUdpPort();
  SilentUdpPort(const SilentUdpPort&) = delete;
  SilentUdpPort& operator=(const SilentUdpPort&) = delete;

  std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Number of open file descriptors of this process (entries of /proc/self/fd).
int count_open_fds();

// Resident set size of this process in KiB (VmRSS of /proc/self/status), or -1.
long resident_kib();

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
long raise_fd_limit();

}  // namespace heyes::test
