// SPDX-License-Identifier: MIT
// Network changes from rtnetlink (private to lib/): addresses and routes that came or went, read without a thread (a non-blocking socket drained on demand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <mutex>
#include <string>

namespace heyes {

// What one or more rtnetlink datagrams announced. Only RTM_NEWADDR,
// RTM_DELADDR, RTM_NEWROUTE and RTM_DELROUTE count; other messages are skipped.
struct NetworkChanges {
  int addresses_added = 0;
  int addresses_removed = 0;
  int routes_added = 0;
  int routes_removed = 0;
  bool malformed = false;  // a message did not fit its datagram: the rest was skipped
  std::string first;       // the first change, for a trace: "address 192.0.2.1/24 added (interface 3)"

  int total() const noexcept { return addresses_added + addresses_removed + routes_added + routes_removed; }
  // "2 addresses added, 1 route removed; first: ..."
  std::string summary() const;
};

// Adds what one datagram of a NETLINK_ROUTE socket holds to changes. The
// bytes are treated as hostile: every length is checked against the datagram.
void parse_network_changes(std::span<const std::uint8_t> datagram, NetworkChanges& changes);

// A NETLINK_ROUTE socket subscribed to the IPv4 and IPv6 address and route
// groups, non-blocking: nothing reads it until poll() drains it
// (MSG_DONTWAIT), so it needs no thread and no event loop. The kernel
// queues what comes meanwhile; a queue that overflowed (ENOBUFS) counts as a
// change, since some were lost. Thread-safe.
class NetworkWatch {
 public:
  NetworkWatch();  // an unusable socket (no netlink here) means poll() never reports anything
  ~NetworkWatch();
  NetworkWatch(const NetworkWatch&) = delete;
  NetworkWatch& operator=(const NetworkWatch&) = delete;

  bool watching() const noexcept { return fd_ >= 0; }
  // Drains what arrived since the last call (at most max_datagrams, then
  // the rest waits for the next call); nullopt when nothing changed.
  std::optional<NetworkChanges> poll(int max_datagrams = 64);

 private:
  int fd_ = -1;
};

// One NetworkWatch for the whole process (one descriptor, opened at the
// first call, never closed), shared by every Dialer: each one keeps the
// generation it has seen and asks changes_since() at its own check points,
// so one Dialer's drain never hides a change from another.
class SharedNetworkWatch {
 public:
  static SharedNetworkWatch& process();
  // Drains the socket; the generation after it (one more per drain that found a change).
  std::uint64_t poll();
  // After poll(): what changed since generation seen, if anything (the last
  // drain's summary); seen is moved on.
  std::optional<std::string> changes_since(std::uint64_t& seen);
  bool watching() const noexcept { return watch_.watching(); }

 private:
  SharedNetworkWatch() = default;
  NetworkWatch watch_;
  std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::string last_;
};

}  // namespace heyes
