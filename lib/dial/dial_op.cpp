// SPDX-License-Identifier: MIT
// The asio shell of one dial: on its strand, each event is fed to the race, then the race's actions are carried out.
#include <fmt/format.h>

#include "common/asio.hpp"

#include <optional>
#include <utility>

#include "attempts.hpp"
#include "common/exception_error.hpp"
#include "dialer_state.hpp"
#include "heyes/dns/hosts.hpp"
#include "heyes/select/sort.hpp"
#include "nat64.hpp"
#include "plan.hpp"
#include "usable_families.hpp"

namespace heyes::detail {

using asio::ip::tcp;
using race::Clock;
using race::TimePoint;

namespace {

// The dial's strand. Over the io_context's own executor when that is what
// ex holds: asio's strand over a type-erased executor asks it for its
// blocking property on every handler, and any_io_executor answers such a
// query with a heap-allocated result.
asio::any_io_executor make_dial_strand(const asio::any_io_executor& ex) {
  if (const auto* io = ex.target<asio::io_context::executor_type>()) return asio::make_strand(*io);
  return asio::make_strand(ex);
}

// The dial being started by this thread's initiating call: a dial that ends
// while it is being started is completed by a post, never inline.
thread_local const void* initiating_dial = nullptr;

struct DestroyCompletion {
  void operator()(DialCompletion* c) const noexcept { c->destroy(); }
};

// The race's one timer, made when first needed (a dial to one literal
// address needs none). A wait that completes after a re-arm is stale.
struct Wakeup {
  std::optional<asio::steady_timer> timer;
  std::uint64_t generation = 0;
};

}  // namespace

// Ownership runs one way: the pending I/O (lookup callbacks, connects, the
// timer's wait) holds the operation; the operation holds its lookup weakly
// and stops it when the dial ends.
class DialOp : public std::enable_shared_from_this<DialOp> {
 public:
  DialOp(std::shared_ptr<DialerState> dialer, const asio::any_io_executor& ex, std::string host,
         std::string_view service, DialOptions options, DialCompletion* completion)
      : completion_(completion),
        dialer_(std::move(dialer)),
        config_(dialer_->config->current(Clock::now())),
        strand_(make_dial_strand(ex)),
        attempts_(ex, options.local_address, std::move(options.socket_setup)),
        trace_(options.keep_trace, std::move(options.on_event)),
        nat64_options_(options.nat64 ? std::move(*options.nat64) : nat64()->options()) {
    plan_ = plan_dial(std::move(host), service, options, config_.snapshot->policy);
  }
  ~DialOp() { forget_nat64(); }

  const asio::any_io_executor& strand() const { return strand_; }

  // Every entry from asio: the work runs inside guarded().
  void start() {
    guarded([this] { begin(); });
  }
  void cancel() {
    guarded([this] { stop(); });
  }

 private:
  template <class Fn>
  void guarded(Fn&& fn);
  void fail_unexpected(std::error_code ec);
  void begin();
  void stop();
  void start_lookup(dns::Resolver::Prepared prepared);
  void start_name_resolver();
  void stop_lookup(bool cancelled);
  void feed_given(TimePoint now);
  void race_v4(TimePoint now, std::vector<IpAddress> v4, race::AnswerOrigin origin);

  dns::Resolver& resolver() const { return *config_.snapshot->resolver; }
  Nat64State* nat64() const { return config_.snapshot->nat64.get(); }
  void note_config();
  void network_changed(TimePoint now, const std::string& what);
  void start_nat64(TimePoint now);
  void ask_nat64();
  void on_nat64_view(std::optional<Nat64View> view);
  void note_nat64(TimePoint now);
  void note_dns64(TimePoint now, const std::vector<IpAddress>& v6);
  void forget_nat64();
  bool translated(const IpAddress& a) const {
    return nat64_.view && translating_prefix(nat64_.view->prefixes, a) != nullptr;
  }
  std::vector<IpAddress> order(std::vector<IpAddress> candidates, std::optional<Family> continue_after,
                               TimePoint now) const;

  void on_resolve_event(const dns::ResolveEvent& event);
  void feed(TimePoint now, dns::ResolveEvent& event);
  void trace_dropped(TimePoint now, const dns::ResolveEvent& event);
  void on_query(const dns::QueryNote& note);
  void on_connect(race::AttemptId id, std::error_code ec);
  void on_timer(std::error_code ec, std::uint64_t generation);

  void decide(TimePoint now);
  void execute(TimePoint now, const race::Action& action);
  void start_attempt(TimePoint now, const race::StartAttempt& s);
  void arm_timer(TimePoint deadline);
  void finish(const race::Finish& f);
  void fail_early(TimePoint now, std::error_code ec);
  void complete(TimePoint now, std::error_code ec, DialResult result);

  std::unique_ptr<DialCompletion, DestroyCompletion> completion_;  // null once the dial is over
  std::shared_ptr<DialerState> dialer_;
  // The configuration this dial started with, to its end (a change of the
  // system files is for the dials after it); notes: what this dial re-read.
  SystemConfig::Current config_;
  asio::any_io_executor strand_;  // every handler of this dial runs there
  DialPlan plan_;
  Attempts attempts_;
  std::optional<race::Race> race_;  // from start(), once the families are known
  Wakeup wakeup_;
  Trace trace_;
  std::weak_ptr<dns::Resolver::Lookup> lookup_;
  std::shared_ptr<NameResolver::Lookup> named_lookup_;  // of DialerOptions::name_resolver, until the dial ends

  // NAT64 (nat64.hpp): used by this dial on an IPv6-only host; the prefixes
  // once known; IPv4 addresses and an A answer waiting for them.
  Nat64Options nat64_options_;
  struct {
    bool active = false;
    bool noted = false;        // the nat64_prefix event is in the trace
    bool synthesized = false;  // a synthesized address joined the race
    int asks = 0;
    std::uint64_t ticket = 0;  // waiting for the Dialer's discovery
    std::optional<Nat64View> view;
    std::vector<IpAddress> given_v4;
    std::optional<dns::ResolveEvent> pending_a;
  } nat64_;
};

// ---- start ---------------------------------------------------------------

// An exception heyes did not expect (out of memory, a bug) ends the dial
// with an error to its handler instead of leaving the caller's run() (on
// asio::thread_pool that would abort the process). Once the dial has
// completed, what is thrown comes from the handler itself (dispatched
// inline) and passes, as asio's rule for handlers says.
template <class Fn>
void DialOp::guarded(Fn&& fn) {
  try {
    fn();
  } catch (...) {
    if (!completion_) throw;
    fail_unexpected(error_from_current_exception());
  }
}

void DialOp::fail_unexpected(std::error_code ec) {
  if (wakeup_.timer) wakeup_.timer->cancel();
  attempts_.close_all();
  stop_lookup(true);
  fail_early(Clock::now(), ec);
}

// The inputs were checked by the plan; an address literal or the caller's
// addresses skip DNS, a name
// asks only for the families this host can use (AI_ADDRCONFIG), and
// localhost, the hosts file or a warm cache answer without a lookup.
void DialOp::begin() {
  TimePoint now = Clock::now();
  note_config();
  if (plan_.error) return fail_early(now, plan_.error);
  if (plan_.given.empty() && plan_.addrconfig)
    plan_.restrict_to(usable_families(*dialer_, plan_.host, plan_.allowed, plan_.explicit_family, now, trace_));
  start_nat64(now);
  race::History* history = plan_.use_history ? dialer_->history.get() : nullptr;
  race_.emplace(plan_.race,
                [this](std::vector<IpAddress> c, std::optional<Family> after, TimePoint at) {
                  return order(std::move(c), after, at);
                },
                history, &trace_, now);
  if (nat64_.view) note_nat64(now);
  if (!nat64_.view && nat64_.active) ask_nat64();
  if (!plan_.given.empty()) {
    feed_given(now);
    return decide(now);
  }
  if (dialer_->name_resolver) {
    start_name_resolver();
    return decide(now);
  }
  auto prepared = resolver().answer_now(plan_.host, plan_.families());
  if (prepared) {
    for (auto& e : *prepared) feed(now, e);
    return decide(now);
  }
  start_lookup(std::move(prepared));
  decide(now);
}

// A miss of answer_now: the lookup carries on from where it stopped (the
// name is not parsed, validated or looked up in the hosts file again).
void DialOp::start_lookup(dns::Resolver::Prepared prepared) {
  auto self = shared_from_this();
  lookup_ = resolver().start(
      strand_, std::move(prepared),
      [self](const dns::ResolveEvent& e) { self->guarded([&] { self->on_resolve_event(e); }); },
      [self](const dns::QueryNote& q) { self->guarded([&] { self->on_query(q); }); });
}

// The caller's resolver (DialerOptions::name_resolver): its events come to
// the strand whatever executor its implementation answers on. Its pending
// work holds the operation through the handler, as heyes's own lookup
// does; the cancel() at the dial's end releases it.
void DialOp::start_name_resolver() {
  named_lookup_ = dialer_->name_resolver->start(strand_, plan_.host, plan_.families(),
                                                [self = shared_from_this()](const dns::ResolveEvent& e) {
    asio::dispatch(self->strand_, [self, event = e]() mutable {
      self->guarded([&] {
        if (event.source.empty()) event.source = answer_source::resolver;
        self->on_resolve_event(event);
      });
    });
  });
}

// The dial is over: the lookup stops, or (heyes's own, unless cancelled)
// lingers to fill the cache.
void DialOp::stop_lookup(bool cancelled) {
  if (auto lookup = lookup_.lock()) {
    if (cancelled) lookup->cancel();
    else lookup->abandon();
  }
  if (auto named = std::exchange(named_lookup_, nullptr)) named->cancel();
}

// The literal or the caller's addresses, one answer per family.
void DialOp::feed_given(TimePoint now) {
  for (Family f : {Family::v6, Family::v4}) {
    std::vector<IpAddress> of_family;
    for (const auto& a : plan_.given)
      if (a.family() == f) of_family.push_back(a);
    if (of_family.empty()) continue;
    race::AnswerOrigin origin{std::string(plan_.given_source)};
    if (f == Family::v6) race_->on_answer(now, f, std::move(of_family), std::move(origin));
    else if (nat64_.active && !nat64_.view) nat64_.given_v4 = std::move(of_family);  // until the prefixes are known
    else race_v4(now, std::move(of_family), std::move(origin));
  }
}

// IPv4 addresses join the race: as they are, or synthesized under the NAT64
// prefixes (as the A family's answer, so the race holds them back behind
// native IPv6 as its last resort).
void DialOp::race_v4(TimePoint now, std::vector<IpAddress> v4, race::AnswerOrigin origin) {
  if (!nat64_.active || !nat64_.view || nat64_.view->prefixes.empty())
    return race_->on_answer(now, Family::v4, std::move(v4), std::move(origin));
  const auto t = std::chrono::duration_cast<std::chrono::microseconds>(now - race_->start());
  auto out = synthesize_all(v4, nat64_.view->prefixes, trace_, t);
  nat64_.synthesized |= std::any_of(out.begin(), out.end(), [](const IpAddress& a) { return a.is_v6(); });
  race_->on_answer(now, Family::v4, std::move(out), std::move(origin));
}

// The one ordering pipeline (heyes/select), with this dial's policy and the
// history's view of each address; on NAT64, translated addresses are
// sorted as the IPv4 addresses they stand for (HEv3 section 8).
std::vector<IpAddress> DialOp::order(std::vector<IpAddress> candidates, std::optional<Family> continue_after,
                                     TimePoint now) const {
  if (candidates.size() <= 1) return candidates;
  const race::History* history = plan_.use_history ? dialer_->history.get() : nullptr;
  auto run = [&](std::vector<IpAddress> c, SourceLookup& sources, const std::function<IpAddress(const IpAddress&)>& real) {
    OrderOptions options;
    options.first_family_count = plan_.first_family_count;
    options.continue_after = continue_after;
    if (history) {
      options.recently_failed = [history, now, &real](const IpAddress& a) { return history->recently_failed(real(a), now); };
      options.history_rule = [history, now, &real](const IpAddress& a, const IpAddress& b) {
        return history->compare(real(a), real(b), now);
      };
    }
    return order_destinations(std::move(c), *plan_.policy, sources, options);
  };
  SystemSourceLookup sources;
  if (nat64_.view && !nat64_.view->prefixes.empty())
    return order_as_ipv4(std::move(candidates), nat64_.view->prefixes, sources, run);
  return run(std::move(candidates), sources, [](const IpAddress& a) { return a; });
}

// What this dial re-read of the system configuration (it was the one that
// found a check due and a file changed), at its start.
void DialOp::note_config() {
  if (config_.network_change) network_changed(Clock::now(), *config_.network_change);
  if (!trace_.enabled()) return;
  for (auto& note : config_.notes)
    trace_.add({{}, std::string(event::config_reloaded), std::nullopt, std::nullopt, std::move(note)});
  config_.notes.clear();
}

// This dial noticed that addresses or routes changed (rtnetlink, read at
// the Dialer's check): what was learnt of the old network no longer
// decides. The usable families are probed again (this dial already does
// it), failures and cached answers from before now are stale (the history
// no longer orders by them; the cache asks again), and the discovered
// NAT64 prefixes are forgotten. Source addresses are asked of the kernel at
// each ordering, so no view of them is kept to drop.
void DialOp::network_changed(TimePoint now, const std::string& what) {
  dialer_->connectivity.invalidate();
  if (dialer_->history) dialer_->history->mark_stale(now);
  resolver().mark_cache_stale(now);
  nat64()->network_changed(now);
  if (trace_.enabled())
    trace_.add({{}, std::string(event::network_change), std::nullopt, std::nullopt,
                what + ": usable families probed again, earlier failures and cached answers stale, NAT64 prefixes forgotten"});
}

// ---- NAT64 -------------------------------------------------------------------

// RFC 8305 section 7: only on a host that can use IPv6 but not IPv4 (never
// on dual-stack), for a dial that did not choose its family, to a name that
// is not localhost or to IPv4 addresses. A name then asks for A as well
// (HEv3 section 4.1), while the prefixes are known or being discovered.
void DialOp::start_nat64(TimePoint now) {
  if (nat64_options_.mode == Nat64Options::Mode::off || plan_.explicit_family) return;
  // Addresses no translator stands in for (loopback, link-local: HEv3 section 8) are dialed as they are.
  if (plan_.given.empty() ? dns::is_localhost_name(plan_.host)
                          : std::all_of(plan_.given.begin(), plan_.given.end(),
                                        [](const IpAddress& a) { return never_synthesized(a); }))
    return;
  auto c = dialer_->connectivity.snapshot(now);
  if (!c->v6.usable || c->v4.usable) return;
  nat64_.active = true;
  if (nat64_options_.mode == Nat64Options::Mode::fixed) nat64_.view = fixed_view(nat64_options_.prefixes);
  else nat64_.view = nat64()->known(now, strand_);
  if (nat64_.view && nat64_.view->prefixes.empty()) {  // no NAT64 here: as without it
    nat64_.active = false;
    return;
  }
  if (plan_.given.empty()) plan_.restrict_to(FamilySet::both());
  plan_.race.translated = [this](const IpAddress& a) { return translated(a); };
}

void DialOp::ask_nat64() {
  ++nat64_.asks;
  std::weak_ptr<DialOp> weak = weak_from_this();
  nat64_.ticket = nat64()->wait(strand_, [weak](std::optional<Nat64View> view) {
    if (auto self = weak.lock()) self->guarded([&] { self->on_nat64_view(std::move(view)); });
  });
}

// On the strand: the discovery ended. What waited for it joins the race.
void DialOp::on_nat64_view(std::optional<Nat64View> view) {
  nat64_.ticket = 0;
  if (!completion_) return;
  TimePoint now = Clock::now();
  if (!view) {  // the discovery was dropped with the io_context that ran it
    if (nat64_.asks < 3) return ask_nat64();
    view = Nat64View{{}, "no NAT64 prefix: the discovery was dropped 3 times"};
  }
  nat64_.view = std::move(view);
  note_nat64(now);
  if (!nat64_.given_v4.empty())
    race_v4(now, std::exchange(nat64_.given_v4, {}), race::AnswerOrigin{std::string(plan_.given_source)});
  if (nat64_.pending_a) {
    dns::ResolveEvent e = std::move(*nat64_.pending_a);
    nat64_.pending_a.reset();
    feed(now, e);
  }
  decide(now);
}

void DialOp::note_nat64(TimePoint now) {
  if (nat64_.noted || !trace_.enabled()) return;
  nat64_.noted = true;
  trace_.add({std::chrono::duration_cast<std::chrono::microseconds>(now - race_->start()),
              std::string(event::nat64_prefix), Family::v6, std::nullopt, nat64_.view->description});
}

// AAAA answers a DNS64 synthesized: said in the trace, sorted as IPv4.
void DialOp::note_dns64(TimePoint now, const std::vector<IpAddress>& v6) {
  if (!trace_.enabled() || !nat64_.view) return;
  const auto t = std::chrono::duration_cast<std::chrono::microseconds>(now - race_->start());
  for (const auto& a : v6) {
    const Nat64Prefix* p = translating_prefix(nat64_.view->prefixes, a);
    if (p == nullptr) continue;
    trace_.add({t, std::string(event::nat64_synthesized), Family::v6, a,
                fmt::format("{} under {}, by the DNS64: sorted as IPv4", extract(*p, a)->to_string(), p->to_string())});
  }
}

void DialOp::forget_nat64() {
  if (nat64_.ticket != 0) nat64()->forget(std::exchange(nat64_.ticket, 0));
}

// ---- events --------------------------------------------------------------

void DialOp::stop() {
  if (!completion_) return;
  TimePoint now = Clock::now();
  if (!race_) return fail_early(now, asio::error::operation_aborted);
  race_->cancel(now);
  decide(now);
}

void DialOp::on_resolve_event(const dns::ResolveEvent& event) {
  if (!completion_) return;
  TimePoint now = Clock::now();
  dns::ResolveEvent copy = event;
  feed(now, copy);
  decide(now);
}

void DialOp::feed(TimePoint now, dns::ResolveEvent& e) {
  if (!e.dropped.empty()) trace_dropped(now, e);
  // No server answered: the nameservers may have changed under us, so the
  // next dial checks the system files without waiting for the interval.
  if (e.error == errc::dns_timeout || e.error == errc::dns_server_failure || e.error == errc::dns_bad_response)
    dialer_->config->check_soon();
  if (nat64_.active && e.family == Family::v4 && !e.error && !nat64_.view) {
    nat64_.pending_a = std::move(e);  // until the prefixes are known
    return;
  }
  race::AnswerOrigin origin{std::move(e.source), std::move(e.rcode), std::move(e.server)};
  if (e.error) race_->on_answer_error(now, e.family, e.error, std::move(origin));
  else if (e.family == Family::v4) race_v4(now, std::move(e.addresses), std::move(origin));
  else {
    if (nat64_.active) note_dns64(now, e.addresses);
    race_->on_answer(now, e.family, std::move(e.addresses), std::move(origin));
  }
}

// The answer held addresses no connection can go to: say which were left out and why.
void DialOp::trace_dropped(TimePoint now, const dns::ResolveEvent& e) {
  if (!trace_.enabled()) return;
  const auto t = std::chrono::duration_cast<std::chrono::microseconds>(now - race_->start());
  for (const auto& d : e.dropped)
    trace_.add({t, std::string(event::dns_dropped), e.family, d.address,
                d.reason + " address in the DNS answer for " + e.name + ": not dialable, dropped"});
}

void DialOp::on_query(const dns::QueryNote& note) {
  if (!completion_ || !trace_.enabled()) return;
  trace_.add({std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - race_->start()),
              std::string(event::dns_query), note.family, std::nullopt, note.name + " @" + note.server});
}

void DialOp::on_connect(race::AttemptId id, std::error_code ec) {
  // A closed attempt (cancelled, or the dial is over) reports nothing.
  if (!completion_ || !attempts_.pending(id)) return;
  TimePoint now = Clock::now();
  if (!ec) {
    attempts_.ended(id);
    race_->on_connected(now, id);
  } else {
    attempts_.close(id);
    race_->on_failed(now, id, ec);
  }
  decide(now);
}

void DialOp::on_timer(std::error_code ec, std::uint64_t generation) {
  if (ec || !completion_ || generation != wakeup_.generation) return;
  TimePoint now = Clock::now();
  race_->on_timer(now);
  decide(now);
}

// ---- actions -------------------------------------------------------------

// Asks the race what to do now and does it, until it has nothing more to
// say (an attempt whose socket cannot even be set up is fed back as a
// failure). The last, empty, round hands the race its buffer back, so a
// dial allocates for its actions once.
void DialOp::decide(TimePoint now) {
  std::vector<race::Action> actions;
  do {
    race_->take_actions(now, actions);
    for (const auto& action : actions) {
      if (!completion_) return;
      execute(now, action);
    }
  } while (!actions.empty() && completion_);
}

void DialOp::execute(TimePoint now, const race::Action& action) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, race::StartAttempt>) start_attempt(now, a);
        if constexpr (std::is_same_v<A, race::CancelAttempt>) attempts_.close(a.id);
        if constexpr (std::is_same_v<A, race::ArmTimer>) arm_timer(a.deadline);
        if constexpr (std::is_same_v<A, race::Remember>) dialer_->history->apply(a.update);
        if constexpr (std::is_same_v<A, race::Finish>) finish(a);
      },
      action);
}

void DialOp::start_attempt(TimePoint now, const race::StartAttempt& s) {
  auto ec = attempts_.connect(s.id, s.address, plan_.port,
                              asio::bind_executor(strand_, [self = shared_from_this(), id = s.id](std::error_code e) {
                                self->guarded([&] { self->on_connect(id, e); });
                              }));
  if (ec) race_->on_failed(now, s.id, ec);
}

void DialOp::arm_timer(TimePoint deadline) {
  ++wakeup_.generation;
  if (!wakeup_.timer) wakeup_.timer.emplace(strand_);
  wakeup_.timer->expires_at(deadline);
  wakeup_.timer->async_wait(asio::bind_executor(
      strand_, [self = shared_from_this(), g = wakeup_.generation](std::error_code ec) {
        self->guarded([&] { self->on_timer(ec, g); });
      }));
}

// The race is over: hand the winner's socket over and close the others, let
// the lookup fill the cache (or stop it on cancellation), then complete.
void DialOp::finish(const race::Finish& f) {
  TimePoint now = Clock::now();
  bool cancelled = f.error == std::errc::operation_canceled;
  if (wakeup_.timer) wakeup_.timer->cancel();
  tcp::endpoint endpoint;
  DialResult result{f.winner ? attempts_.take(*f.winner, endpoint) : tcp::socket(attempts_.executor())};
  result.endpoint = endpoint;
  if (!f.winner) attempts_.close_all();
  stop_lookup(cancelled);
  result.failures = race_->failures();
  // A failed dial may mean the host's interfaces changed: decide the usable families again next time.
  if (!f.winner && !cancelled) dialer_->connectivity.invalidate();
  // And the next dial checks the network and the files at once.
  if (!f.winner && !cancelled) dialer_->config->check_soon();
  // Every synthesized address failed too: the prefixes may belong to another network.
  if (!f.winner && !cancelled && nat64_.synthesized) nat64()->failed(now);
  std::error_code ec;
  if (!f.winner) ec = cancelled ? std::error_code(asio::error::operation_aborted) : f.error;
  if (!f.winner && !ec) ec = errc::all_attempts_failed;
  complete(now, ec, std::move(result));
}

void DialOp::fail_early(TimePoint now, std::error_code ec) {
  if (trace_.enabled()) {
    trace_.add({std::chrono::microseconds(0),
                std::string(ec == asio::error::operation_aborted ? event::cancelled : event::failed), std::nullopt,
                std::nullopt, ec.message()});
  }
  complete(now, ec, DialResult{tcp::socket(attempts_.executor())});
}

void DialOp::complete(TimePoint now, std::error_code ec, DialResult result) {
  forget_nat64();
  if (auto named = std::exchange(named_lookup_, nullptr)) named->cancel();
  trace_.stop_delivering();  // nothing reaches on_event after the handler is invoked
  result.trace = std::move(trace_);
  if (race_) result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - race_->start());
  completion_.release()->complete(ec, std::move(result), initiating_dial == this);
}

// ---- entry points ----------------------------------------------------------

std::shared_ptr<DialOp> make_dial(const std::shared_ptr<DialerState>& dialer, const asio::any_io_executor& ex,
                                  std::string host, std::string service, DialOptions options,
                                  DialCompletion* completion) {
  try {
    return std::make_shared<DialOp>(dialer, ex, std::move(host), service, std::move(options), completion);
  } catch (...) {
    completion->destroy();
    throw;
  }
}

// asio::dispatch on a new strand runs start() inline, inside the strand,
// when this thread is running the io_context (a completion handler starting
// the next dial), as a plain async_connect would. Anything that ends the
// dial inside start() is then posted (DialCompletion::initiating), so the
// handler never runs within the initiating call.
void start_dial(const std::shared_ptr<DialOp>& op) {
  const void* outer = std::exchange(initiating_dial, op.get());
  asio::dispatch(op->strand(), [op] { op->start(); });
  initiating_dial = outer;
}

void cancel_dial(const std::weak_ptr<DialOp>& weak) {
  if (auto op = weak.lock()) asio::post(op->strand(), [op] { op->cancel(); });
}

}  // namespace heyes::detail
