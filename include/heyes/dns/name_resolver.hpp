// SPDX-License-Identifier: MIT
// The resolver seam: anything that turns a name into per-family answers, asynchronously, for a Dialer.
#pragma once

#include "heyes/detail/asio.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "heyes/address.hpp"
#include "heyes/dns/resolver.hpp"

namespace heyes {

// A source of answers for a Dialer (DialerOptions::name_resolver): heyes's
// own stub (heyes_name_resolver), the system's getaddrinfo
// (system_name_resolver), or the caller's (c-ares, a service-discovery
// client, a cache of its own). One lookup per dial; the race starts on
// the first family's answer, as with heyes's own resolver.
class NameResolver {
 public:
  virtual ~NameResolver() = default;

  class Lookup {
   public:
    virtual ~Lookup() = default;
    // The dial is over (or cancelled): on_event is not called after this
    // returns (it may be running on another thread meanwhile only if it was
    // already running), and the handler is released. Called from within
    // on_event too.
    virtual void cancel() = 0;
  };

  // One event per family (FamilySet says which), addresses or an error:
  // heyes::errc::host_not_found and no_data end the family's wait; any
  // other error too, and is reported as the dial's error when no family has
  // addresses. source names the answer's origin in the trace ("resolver"
  // when left empty); ttl, name and the DNS fields may be left as they are.
  using EventHandler = std::function<void(const dns::ResolveEvent&)>;

  // Starts resolving host (never an address literal: heyes answers those
  // itself) for families. on_event is called once per family, through ex
  // (dispatch or post there), never inside start(). The lookup may be held
  // only by the caller's pending work; heyes keeps it until the dial ends.
  virtual std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, std::string_view host, FamilySet families,
                                        EventHandler on_event) = 0;
};

// heyes's own resolver behind the seam: hosts: line, hosts file, cache, DNS.
std::shared_ptr<NameResolver> heyes_name_resolver(std::shared_ptr<dns::Resolver> resolver);

// The system's getaddrinfo, one call per family (AF_INET6, AF_INET) on
// heyes's small worker pool, so that the race starts on the first family's
// answer: the system's exact configuration (nsswitch.conf, nscd,
// systemd-resolved), without heyes's own DNS, cache or hosts. A call that
// takes longer than timeout ends that family with
// errc::name_service_failure (the call itself runs on, and its answer is
// dropped); a cancelled lookup completes at once. Events say source
// "getaddrinfo".
std::shared_ptr<NameResolver> system_name_resolver(std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace heyes
