// SPDX-License-Identifier: MIT
// RFC 7050 discovery on the wire: the AAAA query for ipv4only.arpa to the system's nameservers, its prefixes.
#pragma once

#include "heyes/detail/asio.hpp"

#include <functional>
#include <memory>
#include <system_error>

#include "heyes/dns/config.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/select/nat64.hpp"

namespace heyes::dns {

// The outcome of one ipv4only.arpa query.
struct Pref64Answer {
  // Empty when the AAAA records came; heyes::errc::no_data or host_not_found
  // for a negative answer (no DNS64: the discovery has no prefix and the
  // negative TTL); anything else (dns_timeout, dns_server_failure, ...) when
  // no server answered.
  std::error_code error;
  Pref64Discovery discovery;
  std::string server;  // the last server asked, "192.0.2.53:53" (from the query notes; may be empty)

  // True when a server answered (positively or negatively): feed
  // Pref64Cache::learn_dns(); false: Pref64Cache::dns_failed().
  bool answered() const noexcept;
};

// Options of a Resolver fit for the discovery (RFC 8880: the name is special
// only in that it must reach the DNS64, i.e. the host's own recursive
// servers): system's nameservers, timeout, attempts and rotate; no search
// list (the name is absolute anyway), no hosts table, no cache (a cached
// answer would hand back a shrinking TTL and defeat the refresh), AAAA
// always asked, TTLs uncapped up to a day (Pref64Cache applies its bounds).
ResolverOptions pref64_resolver_options(const ResolverConfig& system);

using Pref64Handler = std::function<void(const Pref64Answer&)>;

// Starts the AAAA query for "ipv4only.arpa." on resolver (best built from
// pref64_resolver_options()); on_done is called once, on ex, never from
// inside this call. The returned lookup cancels it (then on_done is not
// called).
std::shared_ptr<Resolver::Lookup> start_pref64_discovery(Resolver& resolver, const asio::any_io_executor& ex,
                                                         Pref64Handler on_done);

}  // namespace heyes::dns
