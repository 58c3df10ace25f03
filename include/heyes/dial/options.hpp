// SPDX-License-Identifier: MIT
// DialOptions: the options of one dial, with RFC 8305 section 8 defaults.
#pragma once

#include "heyes/detail/asio.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/select/nat64_prefix.hpp"
#include "heyes/timings.hpp"
#include "heyes/trace.hpp"

namespace heyes {

class PolicyTable;  // heyes/select/policy.hpp

// Which address families a dial may use.
enum class FamilyRestriction { any, v4, v6 };

// NAT64 (RFC 8305 section 7, docs/nat64.md). Only on a host that can use
// IPv6 but not IPv4 (never on dual-stack), for a dial that did not choose
// its family: IPv4 literals and A answers are synthesized into IPv6
// addresses under the network's NAT64 prefixes (RFC 6052) and raced as
// IPv6; an AAAA answer a DNS64 synthesized is sorted as the IPv4 address it
// stands for; with native AAAA too, the synthesized addresses are the last
// resort (Timings::last_resort_delay).
struct Nat64Options {
  enum class Mode {
    off,        // race IPv4 addresses as they are
    automatic,  // discover the prefixes: the RFC 7050 query for ipv4only.arpa, cached for its TTL
    fixed,      // use prefixes, ask nothing
  };
  Mode mode = Mode::automatic;
  std::vector<Nat64Prefix> prefixes;  // fixed only

  static Nat64Options off() { return {Mode::off, {}}; }
  static Nat64Options automatic() { return {Mode::automatic, {}}; }
  static Nat64Options fixed(std::vector<Nat64Prefix> prefixes) { return {Mode::fixed, std::move(prefixes)}; }
};

// Runs on every attempt's socket after open() (and bind(), when a local
// address is set) and before connect(). Setting ec aborts that attempt only:
// it counts as a failed attempt with that cause.
using SocketSetup = std::function<void(asio::ip::tcp::socket& socket, asio_error_code& ec)>;

// Options of one dial: the race's Timings (RFC 8305 section 8 defaults:
// resolution_delay, first_family_count, attempt_delay and its policy,
// max_in_flight, attempt_timeout, timeout) and the following.
struct DialOptions : Timings {
  // Restrict the dial to one family (also restricts the DNS queries sent).
  FamilyRestriction family = FamilyRestriction::any;
  // Address ordering; null = the Dialer's (from /etc/gai.conf or RFC 6724's default table).
  std::shared_ptr<const PolicyTable> policy;
  // Called on every attempt's socket before its connect (TCP_NODELAY, SO_MARK, ...).
  SocketSetup socket_setup;
  // Bind every attempt to this address (port 0) before connecting; only
  // destinations of its family are tried.
  std::optional<IpAddress> local_address;
  // Record the timeline in DialResult::trace (the socket-only forms never record it).
  bool keep_trace = true;
  // Called with each trace event as it happens (also when keep_trace is
  // false), on the dial's strand, in trace order, never after the completion
  // handler is invoked. Unset, nothing is formatted for it. A callback that
  // throws is dropped (the dial goes on; a warning event says so). README,
  // "Live events", says when the first calls come inside async_dial.
  EventCallback on_event;
  // Pre-resolved candidates (curl's --resolve): when not empty, the dial
  // races these instead of resolving host (no DNS, hosts file or cache),
  // ordered as any answer (RFC 6724, the interleave); host must still be a
  // valid name or literal and names the target in the trace. Addresses of a
  // family the options exclude are left out; none left: family_unavailable.
  std::vector<IpAddress> addresses;
  // NAT64 for this dial; unset: the Dialer's (DialerOptions::nat64).
  std::optional<Nat64Options> nat64;
  // Use and update the Dialer's connection history (RTT, recent failures).
  bool use_history = true;
  // As getaddrinfo's AI_ADDRCONFIG: do not query (nor wait for) a family this
  // host cannot use. Turn off on hosts whose addresses change under the program.
  bool addrconfig = true;
};

}  // namespace heyes
