// SPDX-License-Identifier: MIT
// The stub resolver: AAAA then A in flight at once, one event per family as soon as it arrives.
#pragma once

#include "heyes/detail/asio.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/dns/hosts.hpp"
#include "heyes/dns/nsswitch.hpp"

namespace heyes::dns {
namespace detail {
struct PendingLookup;
}  // namespace detail

// An address a DNS answer held that no connection can go to, left out of
// the event: reason is "unspecified" (0.0.0.0, ::), "broadcast"
// (255.255.255.255) or "multicast" (224.0.0.0/4, ff00::/8).
struct DroppedAddress {
  IpAddress address;
  std::string reason;
};

// One family's outcome.
struct ResolveEvent {
  Family family = Family::v6;
  std::vector<IpAddress> addresses;  // empty when error is set
  std::chrono::seconds ttl{0};
  std::error_code error;             // heyes::errc::host_not_found, no_data, dns_timeout, dns_server_failure, ...
  // heyes::answer_source ("literal", "localhost", "hosts", "cache", "dns",
  // "validation", "getaddrinfo"), or the nsswitch.conf service that answered
  // ("myhostname", "mdns4_minimal", ...).
  std::string source;
  std::string name;                  // the name the addresses belong to (after search list / CNAME)
  // An error from DNS: the response code of the last server that answered
  // the question with an error ("SERVFAIL", "REFUSED", "NOTIMP", ...) and
  // that server ("127.0.0.1:5353", "/tcp" added over TCP). Empty when no
  // server did (timeouts, unreachable servers), for NXDOMAIN and NODATA
  // (error says them) and for every other source.
  // An error of another name service: what it said ("not found", "cannot
  // load libnss_x.so.2", "no answer within 5000 ms") is in rcode.
  std::string rcode;
  std::string server;
  // Taken out of a DNS answer (addresses is what is left; when nothing is,
  // error is heyes::errc::no_address). The hosts file and literals keep theirs.
  std::vector<DroppedAddress> dropped;
};

// A query going out, for the trace.
struct QueryNote {
  Family family = Family::v6;
  std::string name;
  std::string server;  // "127.0.0.1:5353", with "/tcp" when over TCP
};

struct ResolverOptions {
  ResolverConfig config;                    // nameservers, search list, ndots, timeout, attempts, rotate...
  HostsTable hosts;                         // the files source
  // Where names come from, in order, and what each outcome does next (the
  // hosts: line of nsswitch.conf). files and dns are heyes's own (hosts,
  // and the cache and DNS); any other service is asked through its NSS
  // module, one call per family on a small worker pool (docs/dns.md).
  HostsSources sources = HostsSources::files_dns();
  // The longest wait for one call to such a service; then it counts as
  // TRYAGAIN (the call itself runs on, and its answer is dropped).
  std::chrono::milliseconds name_service_timeout{5000};
  std::size_t cache_entries = 1024;         // LRU bound; 0 disables the cache
  std::chrono::seconds max_ttl{3600};       // positive entries are capped at this
  std::chrono::seconds max_negative_ttl{300};
  std::chrono::seconds server_cooldown{30}; // a failed server is skipped this long (unless none is left)
  std::chrono::milliseconds try_timeout{0}; // per try; overrides config.timeout when > 0 (tests, tools)

  // /etc/resolv.conf (with RES_OPTIONS, LOCALDOMAIN), leniently, /etc/hosts
  // (HostsTable::from_file: read at the first lookup that needs it) and the
  // hosts: line of /etc/nsswitch.conf (glibc's default without one).
  static ResolverOptions from_system(const std::string& resolv_conf = "/etc/resolv.conf",
                                     const std::string& hosts = "/etc/hosts",
                                     const std::string& nsswitch_conf = "/etc/nsswitch.conf");
};

// Holds the configuration, the cache and the server health; shared by every
// dial of a Dialer. Thread-safe: lookups may start from any thread.
class Resolver : public std::enable_shared_from_this<Resolver> {
 public:
  static std::shared_ptr<Resolver> create(ResolverOptions options);

  // A lookup in progress.
  class Lookup {
   public:
    virtual ~Lookup() = default;
    // Stop now: close every socket; no event is delivered after the handler
    // currently running (if any) returns. Safe to call from within on_event.
    virtual void cancel() = 0;
    // Stop delivering events, but let outstanding queries finish (at most
    // linger) so their answers fill the cache; then close everything.
    virtual void abandon(std::chrono::milliseconds linger = std::chrono::seconds(1)) = 0;
  };

  using EventHandler = std::function<void(const ResolveEvent&)>;
  using QueryHandler = std::function<void(const QueryNote&)>;

  // What answer_now() found without any I/O: either every requested
  // family's event (then it converts to true and *p are the events, AAAA
  // first), or a lookup prepared up to its first query, for start().
  class Prepared {
   public:
    Prepared(Prepared&&) noexcept;
    Prepared& operator=(Prepared&&) noexcept;
    ~Prepared();

    // True when answered: no query is needed and the events are all there is.
    explicit operator bool() const noexcept { return !pending_; }
    // The events when answered; empty otherwise.
    std::vector<ResolveEvent>& operator*() noexcept { return events_; }
    const std::vector<ResolveEvent>& operator*() const noexcept { return events_; }
    std::vector<ResolveEvent>* operator->() noexcept { return &events_; }
    const std::vector<ResolveEvent>* operator->() const noexcept { return &events_; }

   private:
    friend class Resolver;
    Prepared();
    std::vector<ResolveEvent> events_;
    std::unique_ptr<detail::PendingLookup> pending_;  // not answered: the plan where it stopped
  };

  // The lookup of host for the requested families, as far as it goes
  // without I/O, on the caller's thread: an address literal, an invalid
  // name, localhost, the hosts file or the cache (search list included).
  // Nothing is delivered; the answer is exactly what start() would deliver.
  Prepared answer_now(std::string_view host, FamilySet families);

  // Starts resolving host for the requested families: the AAAA query is sent
  // first, the A query right after, both in flight at once. on_event is called
  // once per requested family, on ex, never from inside start(). on_query (may
  // be empty) is called, on ex, for each query sent.
  // host may be an address literal (then no DNS) or a name.
  std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, std::string_view host, FamilySet families,
                                EventHandler on_event, QueryHandler on_query = {});
  // The same, continuing what answer_now() of this resolver prepared: the
  // host is not looked at again; what answer_now() decided (events, and the
  // queries the cache could not spare) is delivered and sent in its order on
  // ex, never from inside start().
  std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, Prepared prepared, EventHandler on_event,
                                QueryHandler on_query = {});

  // Convenience for plain users: both families' addresses (AAAA first) or the
  // error when neither family has any. Signature void(std::error_code, std::vector<IpAddress>).
  template <class Token>
  auto async_resolve(const asio::any_io_executor& ex, std::string host, Token&& token);

  const ResolverOptions& options() const noexcept;
  void clear_cache();
  // The network changed at `at`: what was cached up to then is asked again
  // at its next use (and replaced by the new answer), not served.
  void mark_cache_stale(TimePoint at);

  virtual ~Resolver();

 protected:
  Resolver() = default;
};

}  // namespace heyes::dns

#include "heyes/dns/impl/resolver.hpp"
