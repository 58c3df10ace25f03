// SPDX-License-Identifier: MIT
// The resolver driver: runs a LookupPlan against the cache and DNS exchanges, one event per family as it arrives.
#include "heyes/dns/resolver.hpp"

#include "common/asio.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <variant>

#include "cache.hpp"
#include "common/exception_error.hpp"
#include "exchange.hpp"
#include "heyes/error.hpp"
#include "heyes/trace.hpp"
#include "lookup_plan.hpp"
#include "system_lookup.hpp"

namespace heyes::dns {
namespace detail {

// What answer_now() could not finish, for start(): the plan, and in order the
// events it decided and the families whose asks missed the cache (the
// queries start() sends).
// A family's question to another name service (an AskSystem), for the replay.
struct SystemAsked {
  Family family;
};
using ReplayStep = std::variant<ResolveEvent, Family, SystemAsked>;

struct PendingLookup {
  explicit PendingLookup(LookupPlan p) : plan(std::move(p)) {}
  LookupPlan plan;
  std::vector<ReplayStep> replay;
};

}  // namespace detail

namespace {

using detail::Ask;
using detail::AskSystem;
using detail::Deliver;
using detail::ReplayStep;
using detail::LookupPlan;
using detail::PlanAction;
using detail::Store;

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
  // resolv.conf rotate, as glibc's getaddrinfo (one res_send for A and
  // AAAA): one step per lookup, not per query, or with two servers every
  // AAAA would go to the first and every A to the second.
  unsigned rotation_point() const { return options_.config.rotate ? health_->next_rotation() : 0; }

  // rotation: the lookup's rotation point (rotation_point()), the same for all its queries.
  detail::ExchangeOptions exchange_options(unsigned rotation) const {
    const auto& c = options_.config;
    detail::ExchangeOptions o;
    o.servers = health_->order_from(c.nameservers, rotation, Clock::now());
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

// Runs the plan until it waits for a query: asks the cache can answer are fed
// back at once, stores go to the cache; sink gets the events and the asks
// the cache cannot answer, and may halt the run (a cancel from an event).
// One clock read per run.
template <class Sink>
void run_plan(ResolverImpl& r, LookupPlan& plan, std::vector<PlanAction>& actions, Sink& sink) {
  const TimePoint now = Clock::now();
  for (;;) {
    plan.take_actions(actions);
    if (actions.empty()) return;
    for (auto& action : actions) {
      if (sink.halted()) return;
      if (auto* ask = std::get_if<Ask>(&action)) {
        if (auto hit = r.cache().find(ask->name, type_of(ask->family), now))
          plan.on_cached(ask->family, std::move(*hit));
        else
          sink.send(ask->family, ask->name);
      } else if (auto* store = std::get_if<Store>(&action)) {
        r.cache().store(store->name, store->type, std::move(store->answer), now);
      } else if (auto* system = std::get_if<AskSystem>(&action)) {
        sink.ask_system(system->family);
      } else {
        sink.deliver(std::get<Deliver>(action).event);
      }
    }
  }
}

// answer_now()'s sink: the events, and from the first cache miss on, the
// events and misses in their order (what start() replays).
struct PrepareSink {
  std::vector<ResolveEvent>& events;
  std::vector<ReplayStep>& replay;
  bool missed = false;
  bool halted() const noexcept { return false; }
  void miss() {
    if (missed) return;
    missed = true;
    for (auto& e : events) replay.emplace_back(std::move(e));
    events.clear();
  }
  void send(Family f, std::string_view) {
    miss();
    replay.emplace_back(f);
  }
  void ask_system(Family f) {
    miss();
    replay.emplace_back(detail::SystemAsked{f});
  }
  void deliver(ResolveEvent& e) {
    if (missed)
      replay.emplace_back(std::move(e));
    else
      events.push_back(std::move(e));
  }
};

class LookupImpl final : public Resolver::Lookup, public std::enable_shared_from_this<LookupImpl> {
 public:
  LookupImpl(std::shared_ptr<ResolverImpl> r, const asio::any_io_executor& ex, std::vector<ResolveEvent> events,
             std::unique_ptr<detail::PendingLookup> pending, Resolver::EventHandler on_event,
             Resolver::QueryHandler on_query)
      : resolver_(std::move(r)),
        strand_(asio::make_strand(ex)),
        events_(std::move(events)),
        pending_(std::move(pending)),
        on_event_(std::move(on_event)),
        on_query_(std::move(on_query)),
        linger_(strand_) {}

  // Runs the lookup on its strand (never inside Resolver::start()).
  void begin() { asio::post(strand_, [self = shared_from_this()] { self->run(); }); }
  void cancel() override;
  void abandon(std::chrono::milliseconds linger) override;

  // The run_plan sink.
  bool halted() const noexcept { return closed_; }
  void send(Family f, std::string_view name);
  void ask_system(Family f);
  void deliver(const ResolveEvent& e);

 private:
  template <class Fn>
  void guarded(Fn&& fn);
  void fail_undelivered(std::error_code ec);
  void run();
  void replay();
  void pump();
  void on_exchange(Family f, detail::ExchangeResult r);
  void on_system(Family f, detail::SystemAnswer a);
  void close_all();
  bool stopped() const noexcept { return stopped_.load(); }
  detail::Exchange*& current(Family f) { return f == Family::v6 ? v6_exchange_ : v4_exchange_; }
  bool in_flight() const { return v6_exchange_ || v4_exchange_; }

  std::shared_ptr<ResolverImpl> resolver_;
  asio::strand<asio::any_io_executor> strand_;
  std::vector<ResolveEvent> events_;                // answered without a query: all the events
  std::unique_ptr<detail::PendingLookup> pending_;  // else the plan and what answer_now() left
  Resolver::EventHandler on_event_;
  Resolver::QueryHandler on_query_;
  asio::steady_timer linger_;

  std::recursive_mutex deliver_mu_;  // held while a handler runs: cancel() waits for it (or re-enters)
  std::atomic<bool> stopped_{false};

  // Strand-only state.
  std::vector<PlanAction> actions_;
  // The exchanges this lookup started: their pending operations own the
  // lookup (never the other way round), so one is kept until it is finished
  // and idle (a late completion of a finished exchange still finds it).
  std::vector<std::unique_ptr<detail::Exchange>> exchanges_;
  detail::Exchange* v6_exchange_ = nullptr;  // asking now, for each family
  detail::Exchange* v4_exchange_ = nullptr;
  // The other name service's calls in flight, for each family (owned by
  // their pending wait, which owns this lookup until it completes).
  std::weak_ptr<detail::SystemCall> v6_call_, v4_call_;
  std::optional<unsigned> rotation_;  // taken at the first query
  bool abandoned_ = false;
  bool closed_ = false;
  FamilySet delivered_ = FamilySet::neither();  // the families on_event has seen
  bool in_handler_ = false;                     // on_event runs: what it throws is the caller's
};

// Every entry from asio runs the lookup's own work here: an exception it
// did not expect (out of memory, a bug) becomes an error event for each
// family still owed one, instead of leaving the caller's run(). What
// on_event itself throws is the caller's, and passes (asio's rule).
template <class Fn>
void LookupImpl::guarded(Fn&& fn) {
  try {
    fn();
  } catch (...) {
    if (in_handler_) throw;
    fail_undelivered(heyes::detail::error_from_current_exception());
  }
}

void LookupImpl::fail_undelivered(std::error_code ec) {
  const FamilySet wanted = pending_ ? pending_->plan.wanted() : FamilySet::neither();
  for (Family f : {Family::v6, Family::v4}) {
    if (closed_ || !wanted.contains(f) || delivered_.contains(f)) continue;
    ResolveEvent e;
    e.family = f;
    e.error = ec;
    e.source = answer_source::dns;
    deliver(e);
  }
  close_all();
}

// Replays what answer_now() decided (events and the queries it could not
// answer from the cache, in their order), then follows the plan.
void LookupImpl::run() {
  guarded([this] { replay(); });
}

void LookupImpl::replay() {
  if (stopped()) return close_all();
  if (!pending_) {
    for (const auto& e : events_) {
      if (closed_) return;
      deliver(e);
    }
    return close_all();
  }
  for (auto& step : pending_->replay) {
    if (closed_) return;
    if (const auto* f = std::get_if<Family>(&step))
      send(*f, pending_->plan.asked_name(*f));
    else if (const auto* s = std::get_if<detail::SystemAsked>(&step))
      ask_system(s->family);
    else
      deliver(std::get<ResolveEvent>(step));
  }
  pending_->replay.clear();
  pump();
}

void LookupImpl::pump() {
  if (closed_) return;
  run_plan(*resolver_, pending_->plan, actions_, *this);
  if (closed_) return;
  if (pending_->plan.finished() || (abandoned_ && !in_flight())) close_all();
}

// The exchange's callbacks run while its pending operation holds this
// lookup alive: they refer to it without owning it.
void LookupImpl::send(Family f, std::string_view name) {
  std::string asked(name);
  auto sent = [this, f, asked](const std::string& server) {
    if (stopped() || !on_query_) return;
    on_query_(QueryNote{f, asked, server});
  };
  auto done = [this, f](detail::ExchangeResult r) { on_exchange(f, std::move(r)); };
  // A long search list or CNAME chain must not pile up finished exchanges.
  std::erase_if(exchanges_, [](const auto& e) { return e->finished() && e->idle(); });
  if (!rotation_) rotation_ = resolver_->rotation_point();
  exchanges_.push_back(detail::Exchange::start_owned(shared_from_this(), strand_, std::move(asked), type_of(f),
                                                     resolver_->exchange_options(*rotation_), resolver_->health(),
                                                     std::move(sent), std::move(done)));
  current(f) = exchanges_.back().get();
}

// The service's blocking call runs on the worker pool; its answer comes
// back on the strand (or TRYAGAIN once the time limit is over).
void LookupImpl::ask_system(Family f) {
  const auto& plan = pending_->plan;
  auto work = [service = std::string(plan.system_service()), name = std::string(plan.system_name()), f] {
    return detail::nss_lookup(service, name, f);
  };
  (f == Family::v6 ? v6_call_ : v4_call_) = detail::start_system_call(
      strand_, std::move(work), resolver_->opts().name_service_timeout,
      [self = shared_from_this(), f](detail::SystemAnswer a) { self->on_system(f, std::move(a)); });
}

void LookupImpl::on_system(Family f, detail::SystemAnswer a) {
  (f == Family::v6 ? v6_call_ : v4_call_).reset();
  if (closed_) return;
  guarded([&] {
    pending_->plan.on_system(f, std::move(a));
    pump();
  });
}

void LookupImpl::on_exchange(Family f, detail::ExchangeResult r) {
  current(f) = nullptr;
  if (closed_) return;
  guarded([&] {
    if (r.error)
      pending_->plan.on_failure(f, r.error, r.kind, r.rcode ? std::string(to_string(*r.rcode)) : std::string(),
                                std::move(r.rcode_server));
    else
      pending_->plan.on_response(f, *r.response);
    pump();
  });
}

void LookupImpl::deliver(const ResolveEvent& e) {
  std::lock_guard lock(deliver_mu_);
  if (stopped() || !on_event_) return;
  auto handler = on_event_;  // the handler may cancel (and so clear on_event_) while it runs
  (e.family == Family::v6 ? delivered_.v6 : delivered_.v4) = true;
  in_handler_ = true;
  handler(e);
  in_handler_ = false;
}

// Closes every socket and drops the handlers (which may own this lookup).
void LookupImpl::close_all() {
  if (closed_) return;
  closed_ = true;
  for (auto* e : {std::exchange(v6_exchange_, nullptr), std::exchange(v4_exchange_, nullptr)})
    if (e) e->cancel();
  for (auto* c : {&v6_call_, &v4_call_})
    if (auto call = std::exchange(*c, {}).lock()) call->cancel();
  linger_.cancel();
  std::lock_guard lock(deliver_mu_);
  on_event_ = nullptr;
  on_query_ = nullptr;
}

void LookupImpl::cancel() {
  {
    std::lock_guard lock(deliver_mu_);
    stopped_ = true;
  }
  asio::dispatch(strand_, [self = shared_from_this()] { self->close_all(); });
}

// Keep the queries in flight (at most linger) so that their answers reach
// the cache, but deliver nothing more.
void LookupImpl::abandon(std::chrono::milliseconds linger) {
  {
    std::lock_guard lock(deliver_mu_);
    stopped_ = true;
  }
  asio::dispatch(strand_, [self = shared_from_this(), linger] {
    if (self->closed_) return;
    self->abandoned_ = true;
    if (self->pending_) self->pending_->plan.abandon();
    if (!self->in_flight()) return self->close_all();
    self->linger_.expires_after(linger);
    self->linger_.async_wait([self](std::error_code ec) {
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

ResolverOptions ResolverOptions::from_system(const std::string& resolv_conf, const std::string& hosts,
                                             const std::string& nsswitch_conf) {
  ResolverOptions o;
  o.config = load_resolv_conf(resolv_conf).value;
  o.hosts = HostsTable::from_file(hosts);  // read at the first lookup that needs it
  o.sources = load_nsswitch_hosts(nsswitch_conf).value;
  return o;
}

std::shared_ptr<Resolver> Resolver::create(ResolverOptions options) {
  return std::make_shared<ResolverImpl>(std::move(options));
}

Resolver::Prepared::Prepared() = default;
Resolver::Prepared::Prepared(Prepared&&) noexcept = default;
Resolver::Prepared& Resolver::Prepared::operator=(Prepared&&) noexcept = default;
Resolver::Prepared::~Prepared() = default;

// The plan runs here, on the caller's thread, as far as the hosts file and
// the cache take it; only a miss moves it to the heap, for start().
Resolver::Prepared Resolver::answer_now(std::string_view host, FamilySet families) {
  auto& self = static_cast<ResolverImpl&>(*this);
  // Reused per thread: a warm lookup allocates no action buffer.
  static thread_local std::vector<PlanAction> actions;
  Prepared out;
  out.events_.reserve(2);
  std::vector<ReplayStep> replay;
  LookupPlan plan(host, families, self.opts());
  PrepareSink sink{out.events_, replay};
  run_plan(self, plan, actions, sink);
  actions.clear();
  if (sink.missed) {
    out.pending_ = std::make_unique<detail::PendingLookup>(std::move(plan));
    out.pending_->replay = std::move(replay);
  }
  return out;
}

// Nothing is delivered inside start(): the events and queries are posted to
// the lookup's strand, so the handler can never run before start() returns.
std::shared_ptr<Resolver::Lookup> Resolver::start(const asio::any_io_executor& ex, Prepared prepared,
                                                  EventHandler on_event, QueryHandler on_query) {
  auto self = std::static_pointer_cast<ResolverImpl>(shared_from_this());
  auto lookup = std::make_shared<LookupImpl>(std::move(self), ex, std::move(prepared.events_),
                                             std::move(prepared.pending_), std::move(on_event), std::move(on_query));
  lookup->begin();
  return lookup;
}

std::shared_ptr<Resolver::Lookup> Resolver::start(const asio::any_io_executor& ex, std::string_view host,
                                                  FamilySet families, EventHandler on_event, QueryHandler on_query) {
  return start(ex, answer_now(host, families), std::move(on_event), std::move(on_query));
}

const ResolverOptions& Resolver::options() const noexcept { return static_cast<const ResolverImpl*>(this)->opts(); }

void Resolver::clear_cache() { static_cast<ResolverImpl*>(this)->cache().clear(); }

void Resolver::mark_cache_stale(TimePoint at) { static_cast<ResolverImpl*>(this)->cache().mark_stale(at); }

Resolver::~Resolver() = default;

}  // namespace heyes::dns
