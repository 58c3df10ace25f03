// SPDX-License-Identifier: MIT
// NAT64 for the dial (private to lib/dial): the Dialer's prefixes and their discovery, and the pure steps of one dial.
#pragma once

#include "common/asio.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "heyes/dial/options.hpp"
#include "heyes/dns/pref64.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/select/nat64.hpp"
#include "heyes/select/sort.hpp"
#include "heyes/trace.hpp"

namespace heyes::detail {

// What a dial knows of the NAT64 prefixes.
struct Nat64View {
  std::vector<Nat64Prefix> prefixes;  // empty: no NAT64 here
  // For the trace: "64:ff9b::/96 (dns: ipv4only.arpa @[2001:db8::53]:53, TTL 300 s)",
  // or why there is none ("no NAT64 prefix: ipv4only.arpa has no AAAA record ...").
  std::string description;
};

// The NAT64 prefixes of one Dialer: configured, else the PREF64 option of
// the Router Advertisements the kernel passes on (RFC 8781; read when a
// dial asks, from a non-blocking netlink socket: no thread), else
// discovered with the RFC 7050 query on the Dialer's nameservers (RFC
// 8880), cached for the answer's TTL (Pref64Cache), at most one query in
// flight. Thread-safe.
class Nat64State : public std::enable_shared_from_this<Nat64State> {
 public:
  // nullopt: the discovery was dropped before it ended (its io_context went
  // away); ask again.
  using Waiter = std::function<void(std::optional<Nat64View>)>;

  // router_socket: where the kernel's Router Advertisement options are read
  // from; -1 opens the NETLINK_ROUTE subscription (automatic mode only),
  // any other descriptor (a test's) is owned from here on.
  Nat64State(Nat64Options options, dns::ResolverConfig nameservers, int router_socket = -1);
  ~Nat64State();
  Nat64State(const Nat64State&) = delete;
  Nat64State& operator=(const Nat64State&) = delete;

  const Nat64Options& options() const noexcept { return options_; }
  // The prefixes without waiting, or nullopt when the query must be (re)sent
  // first. A refresh that is due but has live prefixes is started on ex in
  // the background (ex: the caller's strand).
  std::optional<Nat64View> known(TimePoint now, const asio::any_io_executor& ex);
  // done is posted to ex when the discovery ends (one is started on ex when
  // none is in flight). Returns a ticket for forget().
  std::uint64_t wait(const asio::any_io_executor& ex, Waiter done);
  // Nothing is posted for ticket after this returns.
  void forget(std::uint64_t ticket);
  // Every synthesized address of a dial failed: the discovered prefixes may
  // be stale (a new network); the next dial asks again.
  void failed(TimePoint now);
  // The network changed (an address or route came or went): the discovered
  // prefixes may be another network's; the next dial asks again.
  void network_changed(TimePoint now);
  // resolv.conf named other servers: the next ipv4only.arpa query asks them
  // (a query in flight finishes with the old ones). What is known stays
  // until its time is up; the router's prefixes do not depend on them.
  void set_nameservers(dns::ResolverConfig nameservers);

 private:
  struct Flight;
  struct Pending {
    std::uint64_t ticket;
    asio::any_io_executor ex;
    Waiter done;
  };
  void start_locked(const asio::any_io_executor& ex);
  void settle(const dns::Pref64Answer* answer);
  void read_router_locked(TimePoint now);
  bool from_router_locked(TimePoint now) const;  // the prefixes in use are the router's
  Nat64View view_locked(TimePoint now) const;

  const Nat64Options options_;
  dns::ResolverConfig nameservers_;  // under mutex_ (set_nameservers)
  std::mutex mutex_;
  Pref64Cache cache_;
  std::string source_note_;      // where the DNS prefixes (or their absence) came from
  std::string router_note_;      // where the last PREF64 option came from
  int router_socket_ = -1;       // non-blocking; read at each known(), no thread
  bool router_opened_ = false;   // the subscription was tried (or a socket given)
  std::shared_ptr<dns::Resolver> resolver_;  // made at the first query
  bool in_flight_ = false;
  std::uint64_t next_ticket_ = 0;
  std::vector<Pending> waiters_;
};

// The view of fixed prefixes (no state, no discovery).
Nat64View fixed_view(const std::vector<Nat64Prefix>& prefixes);

// The prefix of view that holds a, if any.
const Nat64Prefix* translating_prefix(std::span<const Nat64Prefix> prefixes, const IpAddress& a);

// One IPv4 address under every prefix (RFC 6052). An address that must not
// be synthesized (synthesis_refusal) is kept as it is; each decision is
// traced (nat64_synthesized or nat64_refused). The result may
// hold IPv4 and IPv6 addresses.
std::vector<IpAddress> synthesize_all(std::span<const IpAddress> v4, std::span<const Nat64Prefix> prefixes,
                                      Trace& trace, std::chrono::microseconds at);

// The RFC 6724 ordering with every address inside a prefix sorted as the
// IPv4 address it stands for (HEv3 section 8): order gets the stand-ins (and
// a source lookup that answers for them) and its result is mapped back.
using OrderFn = std::function<std::vector<IpAddress>(std::vector<IpAddress>, SourceLookup&,
                                                     const std::function<IpAddress(const IpAddress&)>& real)>;
std::vector<IpAddress> order_as_ipv4(std::vector<IpAddress> candidates, std::span<const Nat64Prefix> prefixes,
                                     SourceLookup& sources, const OrderFn& order);

}  // namespace heyes::detail
