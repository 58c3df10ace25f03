// SPDX-License-Identifier: MIT
// RFC 7050 discovery on the wire: the AAAA query for ipv4only.arpa to the system's nameservers, its prefixes.
#include "heyes/dns/pref64.hpp"

#include "heyes/error.hpp"

namespace heyes::dns {

bool Pref64Answer::answered() const noexcept {
  return !error || error == make_error_code(errc::no_data) || error == make_error_code(errc::host_not_found);
}

ResolverOptions pref64_resolver_options(const ResolverConfig& system) {
  ResolverOptions o;
  o.config.nameservers = system.nameservers;
  o.config.timeout = system.timeout;
  o.config.attempts = system.attempts;
  o.config.rotate = system.rotate;
  o.config.use_vc = system.use_vc;
  o.config.search.clear();
  o.config.no_aaaa = false;
  o.hosts = {};
  o.cache_entries = 0;
  o.max_ttl = std::chrono::hours(24);
  o.max_negative_ttl = std::chrono::hours(24);
  return o;
}

std::shared_ptr<Resolver::Lookup> start_pref64_discovery(Resolver& resolver, const asio::any_io_executor& ex,
                                                         Pref64Handler on_done) {
  auto server = std::make_shared<std::string>();
  return resolver.start(
      ex, kIpv4OnlyName, FamilySet::only(Family::v6),
      [server, on_done = std::move(on_done)](const ResolveEvent& e) {
        Pref64Answer answer;
        answer.error = e.error;
        answer.server = *server;
        if (answer.answered()) answer.discovery = discover_pref64(e.addresses, e.ttl);
        on_done(answer);
      },
      [server](const QueryNote& q) { *server = q.server; });
}

}  // namespace heyes::dns
