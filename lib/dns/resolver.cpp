// SPDX-License-Identifier: MIT
// The stub resolver: literal -> localhost -> hosts -> cache -> DNS, one event per family as it arrives.
#include "heyes/dns/resolver.hpp"

#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <mutex>

#include <fmt/format.h>

#include "answer.hpp"
#include "cache.hpp"
#include "endpoint.hpp"
#include "exchange.hpp"
#include "heyes/clock.hpp"
#include "heyes/error.hpp"

namespace heyes::dns {
namespace {

using std::chrono::seconds;

class ResolverImpl final : public Resolver {
 public:
  explicit ResolverImpl(ResolverOptions o)
      : options_(std::move(o)),
        cache_(options_.cache_entries),
        health_(std::make_shared<detail::ServerHealth>(options_.server_cooldown)) {
    // glibc: no nameserver line means the local server, over both families.
    if (options_.config.nameservers.empty())
      options_.config.nameservers = {{*IpAddress::parse("127.0.0.1"), 53}, {*IpAddress::parse("::1"), 53}};
  }

  const ResolverOptions& opts() const noexcept { return options_; }
  detail::Cache& cache() noexcept { return cache_; }
  const std::shared_ptr<detail::ServerHealth>& health() const noexcept { return health_; }

  detail::ExchangeOptions exchange_options() const {
    const auto& c = options_.config;
    detail::ExchangeOptions o;
    o.servers = health_->order(c.nameservers, c.rotate, Clock::now());
    o.timeout = options_.try_timeout.count() > 0 ? options_.try_timeout
                                                 : std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout);
    o.attempts = std::max(1, c.attempts);
    o.use_vc = c.use_vc;
    o.edns = true;  // RFC 6891, advertising edns_udp_size; FORMERR falls back per server
    return o;
  }

 private:
  ResolverOptions options_;
  detail::Cache cache_;
  std::shared_ptr<detail::ServerHealth> health_;
};

RecordType type_of(Family f) { return f == Family::v6 ? RecordType::aaaa : RecordType::a; }

ResolveEvent error_event(std::error_code ec, std::string source, std::string name, seconds ttl = seconds(0)) {
  ResolveEvent e;
  e.error = ec;
  e.source = std::move(source);
  e.name = std::move(name);
  e.ttl = ttl;
  return e;
}

class LookupImpl final : public Resolver::Lookup, public std::enable_shared_from_this<LookupImpl> {
 public:
  LookupImpl(std::shared_ptr<ResolverImpl> r, const asio::any_io_executor& ex, std::string host, FamilySet f,
             Resolver::EventHandler on_event, Resolver::QueryHandler on_query)
      : resolver_(std::move(r)),
        strand_(asio::make_strand(ex)),
        host_(std::move(host)),
        on_event_(std::move(on_event)),
        on_query_(std::move(on_query)),
        linger_(std::in_place, *strand_) {
    v6_.wanted = f.v6;
    v4_.wanted = f.v4;
  }

  // Offline: no strand, no I/O; run() from the caller's thread collects the
  // events, and stops (needs_network()) where a query would be sent.
  LookupImpl(std::shared_ptr<ResolverImpl> r, std::string host, FamilySet f, std::vector<ResolveEvent>& out)
      : resolver_(std::move(r)), host_(std::move(host)), offline_out_(&out) {
    v6_.wanted = f.v6;
    v4_.wanted = f.v4;
  }

  // Runs the lookup on its strand (never inside Resolver::start()).
  void begin() { asio::post(*strand_, [self = shared_from_this()] { self->run(); }); }
  void run_offline() { run(); }
  bool needs_network() const noexcept { return needs_network_; }
  void cancel() override;
  void abandon(std::chrono::milliseconds linger) override;

 private:
  void run();

  // One family's progress through the candidates.
  struct FamilyState {
    explicit FamilyState(Family f) : family(f) {}
    Family family;
    bool wanted = false;
    bool delivered = false;
    std::optional<ResolveEvent> result;  // of the current candidate
    // Weak: the exchange's own pending operations keep it alive, and its
    // done callback keeps this lookup alive; a strong pointer here made a
    // cycle that leaked both (and two sockets) when the io_context was
    // destroyed with a query outstanding.
    std::weak_ptr<detail::Exchange> exchange;
    bool querying = false;  // an exchange was started and has not reported
    // The name asked now is the current search-list candidate (the cache
    // key), or the CNAME target being followed; kept apart so that asking a
    // candidate copies no string (candidate_ cannot move while a family of it
    // is in flight).
    std::string cname_target;
    int hops = 0;
    seconds chain_ttl{0};
    bool had_nodata = false;
    std::error_code failure;  // a timeout or server failure on some candidate
  };

  FamilyState& state(Family f) { return f == Family::v6 ? v6_ : v4_; }
  bool offline() const noexcept { return offline_out_ != nullptr; }
  const std::string& candidate() const { return candidates_[candidate_]; }
  const std::string& qname(const FamilyState& s) const {
    return s.cname_target.empty() ? candidate() : s.cname_target;
  }
  bool stopped() const noexcept { return stopped_.load(); }
  void answer_all(const std::string& source, const std::vector<IpAddress>& addresses, const std::string& name);
  void fail_all(std::error_code ec, const std::string& source);
  void start_candidate();
  void query(FamilyState& s);
  void on_exchange(Family f, detail::ExchangeResult r);
  ResolveEvent interpret(FamilyState& s, const Message& response);
  void on_result(FamilyState& s, ResolveEvent ev);
  void decide();
  void deliver(FamilyState& s);
  void close_all();
  bool in_flight() const { return v6_.querying || v4_.querying; }

  std::shared_ptr<ResolverImpl> resolver_;
  std::optional<asio::strand<asio::any_io_executor>> strand_;  // none offline
  std::string host_;
  Resolver::EventHandler on_event_;
  Resolver::QueryHandler on_query_;
  std::optional<asio::steady_timer> linger_;  // none offline
  std::vector<ResolveEvent>* const offline_out_ = nullptr;  // offline: where events go (moved, not copied)
  bool needs_network_ = false;  // offline: a query would have been sent

  std::recursive_mutex deliver_mu_;  // held while a handler runs: cancel() waits for it (or re-enters)
  std::atomic<bool> stopped_{false};

  // Strand-only state.
  FamilyState v6_{Family::v6}, v4_{Family::v4};
  std::vector<std::string> candidates_;
  std::size_t candidate_ = 0;
  bool starting_ = false;  // inside start_candidate: decide later
  bool winner_ = false;    // the current candidate gave addresses for a family
  bool abandoned_ = false;
  bool closed_ = false;
};

// Order of sources: address literal, RFC 6761 localhost, the hosts file, then
// the cache and DNS over the search list.
void LookupImpl::run() {
  if (stopped()) return close_all();
  if (auto literal = IpAddress::parse(host_)) return answer_all("literal", {*literal}, host_);
  if (auto ec = validate_host_name(host_)) return fail_all(ec, "validation");
  std::string_view bare = host_;
  if (!bare.empty() && bare.back() == '.') bare.remove_suffix(1);
  if (is_localhost_name(bare))
    return answer_all("localhost", {*IpAddress::parse("::1"), *IpAddress::parse("127.0.0.1")}, std::string(bare));
  if (const auto* found = resolver_->opts().hosts.find(bare); found && !found->empty())
    return answer_all("hosts", *found, std::string(bare));
  // resolv.conf "options no-aaaa": the AAAA query is never sent.
  if (resolver_->opts().config.no_aaaa && v6_.wanted) {
    v6_.result = error_event(errc::family_unavailable, "dns", std::string(bare));
    deliver(v6_);
  }
  candidates_ = candidate_names(host_, resolver_->opts().config);
  if (candidates_.empty()) return fail_all(errc::bad_host_name, "validation");
  start_candidate();
}

void LookupImpl::answer_all(const std::string& source, const std::vector<IpAddress>& addresses,
                            const std::string& name) {
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted) continue;
    ResolveEvent e;
    e.source = source;
    e.name = name;
    for (const auto& a : addresses)
      if (a.family() == s->family) e.addresses.push_back(a);
    if (e.addresses.empty()) e.error = errc::no_data;
    s->result = std::move(e);
    deliver(*s);
  }
  close_all();
}

void LookupImpl::fail_all(std::error_code ec, const std::string& source) {
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted) continue;
    s->result = error_event(ec, source, host_);
    deliver(*s);
  }
  close_all();
}

// Both families of one search-list candidate: AAAA first, then A. Cache hits
// answer at once; the decision waits until both are started.
void LookupImpl::start_candidate() {
  winner_ = false;
  starting_ = true;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    s->result.reset();
    s->cname_target.clear();
    s->hops = 0;
    s->chain_ttl = resolver_->opts().max_ttl;
    query(*s);
  }
  starting_ = false;
  decide();
}

void LookupImpl::query(FamilyState& s) {
  const RecordType type = type_of(s.family);
  if (auto hit = resolver_->cache().find(qname(s), type, Clock::now())) {
    ResolveEvent e;
    e.addresses = std::move(hit->addresses);
    e.error = hit->error;
    e.ttl = std::min(hit->ttl, s.chain_ttl);
    e.source = "cache";
    e.name = std::move(hit->name);
    return on_result(s, std::move(e));
  }
  if (offline()) {
    needs_network_ = true;
    closed_ = true;  // nothing more is decided or delivered
    return;
  }
  const Family f = s.family;
  std::string asked = qname(s);
  auto sent = [self = shared_from_this(), f, asked](const std::string& server) {
    if (self->stopped() || !self->on_query_) return;
    self->on_query_(QueryNote{f, asked, server});
  };
  auto done = [self = shared_from_this(), f](detail::ExchangeResult r) { self->on_exchange(f, std::move(r)); };
  s.querying = true;
  s.exchange = detail::Exchange::start(*strand_, asked, type, resolver_->exchange_options(), resolver_->health(),
                                       std::move(sent), std::move(done));
}

void LookupImpl::on_exchange(Family f, detail::ExchangeResult r) {
  FamilyState& s = state(f);
  s.exchange.reset();
  s.querying = false;
  if (closed_) return;
  ResolveEvent e = r.error ? error_event(r.error, "dns", qname(s)) : interpret(s, *r.response);
  if (abandoned_) {
    // Lingering only to fill the cache: no event, no further query.
    if (!in_flight()) close_all();
    return;
  }
  if (!e.error && e.addresses.empty()) return query(s);  // a CNAME target to ask for
  on_result(s, std::move(e));
}

// Turns a NOERROR/NXDOMAIN response into an event and caches it under the
// candidate name. An empty event without error means "query qname(s) next".
ResolveEvent LookupImpl::interpret(FamilyState& s, const Message& response) {
  const auto& o = resolver_->opts();
  const RecordType type = type_of(s.family);
  auto a = detail::interpret(response, qname(s), type, detail::max_cname_hops - s.hops);
  s.hops += a.hops;
  ResolveEvent e = error_event({}, "dns", a.name);
  switch (a.kind) {
    case detail::Answer::Kind::addresses:
      e.addresses = std::move(a.addresses);
      e.ttl = std::min({s.chain_ttl, *a.ttl, o.max_ttl});
      resolver_->cache().store(candidate(), type, {e.addresses, {}, e.name, e.ttl}, Clock::now());
      return e;
    case detail::Answer::Kind::follow:
      s.chain_ttl = std::min(s.chain_ttl, *a.ttl);
      if (s.hops >= detail::max_cname_hops) {
        e.error = errc::dns_bad_response;
        return e;
      }
      s.cname_target = a.name;
      return e;
    case detail::Answer::Kind::nxdomain:
    case detail::Answer::Kind::nodata:
      e.error = a.kind == detail::Answer::Kind::nxdomain ? errc::host_not_found : errc::no_data;
      // RFC 2308 §5: cache for the SOA-derived TTL, never without an SOA.
      if (a.ttl) {
        e.ttl = std::min(*a.ttl, o.max_negative_ttl);
        resolver_->cache().store(candidate(), type, {{}, e.error, e.name, e.ttl}, Clock::now());
      }
      return e;
    case detail::Answer::Kind::bad:
      break;
  }
  e.error = errc::dns_bad_response;
  return e;
}

void LookupImpl::on_result(FamilyState& s, ResolveEvent ev) {
  ev.family = s.family;
  if (ev.error == errc::no_data) s.had_nodata = true;
  if (ev.error && ev.error != errc::no_data && ev.error != errc::host_not_found) s.failure = ev.error;
  s.result = std::move(ev);
  decide();
}

// The search-list rule: the first candidate that yields addresses for either
// family wins; an error of one family is held until the other family of the
// same candidate has answered (unless this is the last candidate).
void LookupImpl::decide() {
  if (starting_ || closed_) return;
  for (const FamilyState* s : {&v6_, &v4_})
    if (s->wanted && s->result && !s->result->error) winner_ = true;
  const bool last = candidate_ + 1 >= candidates_.size();
  bool all_done = true, all_failed = true;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    if (s->result && (!s->result->error || winner_ || last)) {
      // As glibc's res_search: a NODATA anywhere, else a server failure, beats NXDOMAIN.
      if (s->result->error && !winner_)
        s->result->error = s->had_nodata ? make_error_code(errc::no_data) : s->failure ? s->failure : s->result->error;
      deliver(*s);
    }
    all_done = all_done && s->delivered;
    all_failed = all_failed && (s->delivered || (s->result && s->result->error));
  }
  if (all_done) return close_all();
  if (!winner_ && all_failed && !last) {
    ++candidate_;
    start_candidate();
  }
}

void LookupImpl::deliver(FamilyState& s) {
  s.delivered = true;
  s.result->family = s.family;
  if (offline()) return offline_out_->push_back(std::move(*s.result));
  std::lock_guard lock(deliver_mu_);
  if (stopped() || !on_event_) return;
  auto handler = on_event_;  // the handler may cancel (and so clear on_event_) while it runs
  handler(*s.result);
}

// Closes every socket and drops the handlers (which may own this lookup).
void LookupImpl::close_all() {
  if (closed_) return;
  closed_ = true;
  for (FamilyState* s : {&v6_, &v4_}) {
    s->querying = false;
    if (auto e = std::exchange(s->exchange, {}).lock()) e->cancel();
  }
  if (linger_) linger_->cancel();
  std::lock_guard lock(deliver_mu_);
  on_event_ = nullptr;
  on_query_ = nullptr;
}

void LookupImpl::cancel() {
  {
    std::lock_guard lock(deliver_mu_);
    stopped_ = true;
  }
  asio::dispatch(*strand_, [self = shared_from_this()] { self->close_all(); });
}

// Keep the queries in flight (at most linger) so that their answers reach
// the cache, but deliver nothing more.
void LookupImpl::abandon(std::chrono::milliseconds linger) {
  {
    std::lock_guard lock(deliver_mu_);
    stopped_ = true;
  }
  asio::dispatch(*strand_, [self = shared_from_this(), linger] {
    if (self->closed_) return;
    self->abandoned_ = true;
    if (!self->in_flight()) return self->close_all();
    self->linger_->expires_after(linger);
    self->linger_->async_wait([self](std::error_code ec) {
      if (!ec) self->close_all();
    });
  });
}

}  // namespace

std::error_code detail::combine_resolve_errors(std::error_code v6, std::error_code v4) {
  if (v6 == errc::host_not_found || v4 == errc::host_not_found) return errc::host_not_found;
  if (v6 == errc::no_data && v4 == errc::no_data) return errc::no_data;
  for (const auto& e : {v6, v4})
    if (e && e != errc::no_data) return e;
  return v6 ? v6 : v4 ? v4 : make_error_code(errc::no_address);
}

ResolverOptions ResolverOptions::from_system(const std::string& resolv_conf, const std::string& hosts) {
  ResolverOptions o;
  o.config = load_resolv_conf(resolv_conf).value;
  o.hosts = load_hosts(hosts).value;
  return o;
}

std::shared_ptr<Resolver> Resolver::create(ResolverOptions options) {
  return std::make_shared<ResolverImpl>(std::move(options));
}

// Nothing is done inside start(): the work is posted to the lookup's strand,
// so the handler can never run before start() returns.
std::shared_ptr<Resolver::Lookup> Resolver::start(const asio::any_io_executor& ex, std::string_view host,
                                                  FamilySet families, EventHandler on_event, QueryHandler on_query) {
  auto self = std::static_pointer_cast<ResolverImpl>(shared_from_this());
  auto lookup = std::make_shared<LookupImpl>(self, ex, std::string(host), families, std::move(on_event),
                                             std::move(on_query));
  lookup->begin();
  return lookup;
}

std::optional<std::vector<ResolveEvent>> Resolver::answer_now(std::string_view host, FamilySet families) {
  std::vector<ResolveEvent> events;
  events.reserve(2);
  auto self = std::static_pointer_cast<ResolverImpl>(shared_from_this());
  LookupImpl lookup(std::move(self), std::string(host), families, events);
  lookup.run_offline();
  if (lookup.needs_network()) return std::nullopt;
  return events;
}

const ResolverOptions& Resolver::options() const noexcept { return static_cast<const ResolverImpl*>(this)->opts(); }

void Resolver::clear_cache() { static_cast<ResolverImpl*>(this)->cache().clear(); }

Resolver::~Resolver() = default;

}  // namespace heyes::dns
