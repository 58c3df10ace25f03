// SPDX-License-Identifier: MIT
// The asio shell of one dial: drives Resolver -> Race with real sockets and one timer, on a strand.
#include <algorithm>
#include <asio/bind_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <optional>
#include <utility>

#include "dialer_state.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/dns/hosts.hpp"
#include "heyes/select/sort.hpp"
#include "usable_families.hpp"

namespace heyes::detail {

using asio::ip::tcp;
using race::Clock;
using race::TimePoint;

namespace {

asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_bytes());
  return asio::ip::address_v6(a.bytes(), a.scope_id());
}

bool allows(FamilyRestriction r, Family f) {
  return r == FamilyRestriction::any || (r == FamilyRestriction::v4) == (f == Family::v4);
}

// The families the caller's options allow: the restriction and the local
// address's family. Both families false means the options contradict.
FamilySet requested_families(const DialOptions& o) {
  FamilySet f{allows(o.family, Family::v6), allows(o.family, Family::v4)};
  if (o.local_address) {
    f.v6 = f.v6 && o.local_address->is_v6();
    f.v4 = f.v4 && o.local_address->is_v4();
  }
  return f;
}

// The dial's strand. Over the io_context's own executor when that is what
// ex holds: asio's strand over a type-erased executor asks it for its
// blocking property on every handler, and any_io_executor answers such a
// query with a heap-allocated result (two allocations per dial).
asio::any_io_executor make_dial_strand(const asio::any_io_executor& ex) {
  if (const auto* io = ex.target<asio::io_context::executor_type>()) return asio::make_strand(*io);
  return asio::make_strand(ex);
}

}  // namespace

class DialOp : public std::enable_shared_from_this<DialOp> {
 public:
  DialOp(std::shared_ptr<Dialer::State> dialer, const asio::any_io_executor& ex, std::string host,
         std::string service, DialOptions options, DialCompletion* completion)
      : dialer_(std::move(dialer)),
        io_ex_(ex),
        strand_(make_dial_strand(ex)),
        host_(std::move(host)),
        service_(std::move(service)),
        options_(std::move(options)),
        trace_(options_.keep_trace),
        completion_(completion) {}

  ~DialOp() {
    // Only when the io_context is destroyed with the dial pending: nothing
    // may be delivered any more, but the handler must be freed. (The lookup
    // goes with the io_context's own shutdown.)
    if (completion_) completion_->destroy();
  }

  const asio::any_io_executor& strand() const { return strand_; }

  // True while start_dial() runs: a completion then is immediate and posted.
  std::atomic<bool> initiating{false};

  void start();
  void cancel();

 private:
  struct Attempt {
    explicit Attempt(const asio::any_io_executor& ex) : socket(ex) {}
    tcp::socket socket;
    tcp::endpoint endpoint;
    bool pending = true;  // false once it connected, failed or was cancelled
  };

  void start_race(const FamilySet& expected);
  void start_lookup(const FamilySet& families);
  std::vector<IpAddress> order(std::vector<IpAddress> candidates) const;

  void on_resolve_event(const dns::ResolveEvent& event);
  void flush_resolve_events();
  void feed(std::vector<dns::ResolveEvent> events);
  void on_query(const dns::QueryNote& note);
  void on_connect(race::AttemptId id, std::error_code ec);
  void on_timer(std::error_code ec, std::uint64_t generation);

  void pump();
  void execute(const race::Action& action);
  void start_attempt(const race::StartAttempt& s);
  std::error_code open_socket(Attempt& a);
  void close_attempt(race::AttemptId id);
  void arm_timer(TimePoint deadline);
  void finish(const race::Finish& f);
  void complete(std::error_code ec, DialResult result);
  void fail_early(std::error_code ec);

  std::shared_ptr<Dialer::State> dialer_;
  asio::any_io_executor io_ex_;              // the sockets' executor (what the caller gets back)
  asio::any_io_executor strand_;             // a strand: every handler of this dial runs there
  // Both made when first needed: a dial to one literal address needs neither.
  std::optional<asio::steady_timer> timer_;
  // Waits "forever" from start to finish: this pending wait is what owns the
  // operation while only DNS is outstanding (the resolver's handlers hold it
  // weakly), so an io_context destroyed mid-dial frees it and its sockets.
  std::optional<asio::steady_timer> anchor_;
  std::uint64_t timer_generation_ = 0;       // a wait that completed after a re-arm is stale
  std::string host_;
  std::string service_;
  std::uint16_t port_ = 0;
  DialOptions options_;
  Trace trace_;
  TimePoint start_{};
  TimePoint now_{};                          // read once per event
  std::optional<race::Race> race_;
  std::shared_ptr<dns::Resolver::Lookup> lookup_;
  std::vector<dns::ResolveEvent> resolve_events_;  // arrived, not yet fed to the race
  std::vector<std::unique_ptr<Attempt>> attempts_;  // [id - 1]; kept until the op dies
  std::vector<std::pair<race::AttemptId, std::error_code>> setup_failures_;
  DialCompletion* completion_;
  bool cancelled_ = false;
  bool done_ = false;
};

// ---- start ---------------------------------------------------------------

void DialOp::start() {
  start_ = now_ = Clock::now();
  // The inputs are checked before anything is sent: the service (no DNS),
  // the family restriction, then the host (an address literal skips DNS).
  std::error_code ec;
  port_ = resolve_service(service_, ec);
  if (ec) return fail_early(ec);
  FamilySet requested = requested_families(options_);
  if (!requested.v6 && !requested.v4) return fail_early(errc::family_unavailable);

  if (auto literal = IpAddress::parse(host_)) {
    Family f = literal->family();
    if (!(f == Family::v6 ? requested.v6 : requested.v4)) return fail_early(errc::family_unavailable);
    start_race({f == Family::v6, f == Family::v4});
    race_->on_answer(now_, f, {*literal});
    return pump();
  }
  if (auto bad = dns::validate_host_name(host_)) return fail_early(bad);

  FamilySet families = requested;
  if (options_.addrconfig) {
    bool explicit_family = options_.family != FamilyRestriction::any || options_.local_address.has_value();
    families = usable_families(*dialer_, host_, requested, explicit_family, now_, trace_);
  }
  start_race(families);
  // Localhost, the hosts file or a warm cache answer at once: no lookup
  // object, no strand hop (most of a warm dial's cost otherwise).
  if (auto events = dialer_->resolver->answer_now(host_, families)) {
    feed(std::move(*events));
    return pump();
  }
  start_lookup(families);
  pump();
}

void DialOp::start_race(const FamilySet& expected) {
  race::Config config;
  config.resolution_delay = options_.resolution_delay;
  config.attempt_delay = options_.attempt_delay;
  config.first_family_count = options_.first_family_count;
  config.max_in_flight = options_.max_in_flight;
  config.timeout = options_.timeout;
  config.expect_v6 = expected.v6;
  config.expect_v4 = expected.v4;
  config.attempt_delay_from_history = options_.attempt_delay_from_history;
  // RFC 6724 rule 6 decides between the families: when the policy gives a
  // global IPv4 address a higher precedence than every AAAA address, IPv4 is
  // the preferred family and an early AAAA answer waits for A.
  const PolicyTable* policy = options_.policy ? &*options_.policy : dialer_->policy.get();
  config.v4_outranks = [policy](const std::vector<IpAddress>& v6) {
    int v4 = policy->precedence(IpAddress::v4({192, 0, 2, 1}));
    return std::all_of(v6.begin(), v6.end(), [&](const IpAddress& a) { return policy->precedence(a) < v4; });
  };
  race::History* history = options_.use_history ? dialer_->history.get() : nullptr;
  race_.emplace(config, [this](std::vector<IpAddress> c) { return order(std::move(c)); }, history, &trace_, start_);
}

void DialOp::start_lookup(const FamilySet& families) {
  anchor_.emplace(strand_, TimePoint::max());
  anchor_->async_wait(asio::bind_executor(strand_, [self = shared_from_this()](std::error_code) {}));
  std::weak_ptr<DialOp> weak = weak_from_this();
  lookup_ = dialer_->resolver->start(
      strand_, host_, families,
      [weak](const dns::ResolveEvent& e) {
        if (auto self = weak.lock()) self->on_resolve_event(e);
      },
      [weak](const dns::QueryNote& q) {
        if (auto self = weak.lock()) self->on_query(q);
      });
}

// RFC 6724 sort (with the history rule between rules 8 and 9), then RFC 8305
// section 4 interleaving. Called by the race with the not yet tried addresses.
//
// Issue 4: "a recently failed address is tried after addresses that have not
// failed". The extra rule sits below rule 6 (precedence), so on its own it
// could never put a black-holed IPv6 behind IPv4: recently failed addresses
// are therefore ordered as a second group, after all the others.
std::vector<IpAddress> DialOp::order(std::vector<IpAddress> candidates) const {
  // One address has one order: skip the source lookups (a socket and a
  // netlink dump each), which were most of the cost of a dial to a literal.
  if (candidates.size() <= 1) return candidates;
  const PolicyTable& policy = options_.policy ? *options_.policy : *dialer_->policy;
  race::History* history = options_.use_history ? dialer_->history.get() : nullptr;
  std::vector<IpAddress> fresh, failed;
  for (auto& a : candidates) (history && history->recently_failed(a, now_) ? failed : fresh).push_back(a);

  SystemSourceLookup sources;
  ExtraRule extra;
  if (history) {
    extra = [history, now = now_](const IpAddress& a, const IpAddress& b) { return history->compare(a, b, now); };
  }
  auto ordered = interleave_families(sort_destinations(fresh, policy, sources, extra), options_.first_family_count);
  auto last = interleave_families(sort_destinations(failed, policy, sources, extra), options_.first_family_count);
  ordered.insert(ordered.end(), last.begin(), last.end());
  return ordered;
}

// ---- events --------------------------------------------------------------

void DialOp::cancel() {
  if (done_) return;
  now_ = Clock::now();
  cancelled_ = true;
  if (!race_) return fail_early(asio::error::operation_aborted);
  race_->cancel(now_);
  pump();
}

// The resolver delivers both families back to back when they come from the
// hosts file, the cache or localhost; those are fed to the race together
// (sorted as one list), so events are collected until the strand is free.
void DialOp::on_resolve_event(const dns::ResolveEvent& event) {
  if (done_) return;
  resolve_events_.push_back(event);
  if (resolve_events_.size() == 1) {
    asio::post(strand_, [self = shared_from_this()] { self->flush_resolve_events(); });
  }
}

void DialOp::flush_resolve_events() {
  if (done_) return;
  now_ = Clock::now();
  feed(std::exchange(resolve_events_, {}));
  pump();
}

// Both families at once are sorted as one list; otherwise one by one.
void DialOp::feed(std::vector<dns::ResolveEvent> events) {
  bool together = events.size() == 2 && !events[0].error && !events[1].error;
  if (together) {
    auto& v6 = events[0].family == Family::v6 ? events[0] : events[1];
    auto& v4 = events[0].family == Family::v6 ? events[1] : events[0];
    race_->on_answers(now_, std::move(v6.addresses), std::move(v4.addresses));
    return;
  }
  for (auto& e : events) {
    if (e.error) race_->on_answer_error(now_, e.family, e.error);
    else race_->on_answer(now_, e.family, std::move(e.addresses));
  }
}

void DialOp::on_query(const dns::QueryNote& note) {
  if (done_ || !trace_.enabled()) return;
  trace_.add({std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_),
              std::string(event::dns_query), note.family, std::nullopt, note.name + " @" + note.server});
}

void DialOp::on_connect(race::AttemptId id, std::error_code ec) {
  Attempt& a = *attempts_.at(id - 1);
  // A closed attempt (cancelled, or the dial is over) reports nothing.
  if (done_ || !a.pending) return;
  now_ = Clock::now();
  if (!ec) {
    a.pending = false;
    race_->on_connected(now_, id);
  } else {
    close_attempt(id);
    race_->on_failed(now_, id, ec);
  }
  pump();
}

void DialOp::on_timer(std::error_code ec, std::uint64_t generation) {
  if (ec || done_ || generation != timer_generation_) return;
  now_ = Clock::now();
  race_->on_timer(now_);
  pump();
}

// ---- actions -------------------------------------------------------------

// Executes the race's actions until it has nothing more to say. An attempt
// whose socket could not even be set up fails after the batch it was
// started in, so the batch's own timer and starts are applied first.
void DialOp::pump() {
  // Swapped with the race's buffer each round, so the race keeps a buffer
  // with capacity and a warm dial allocates nothing here.
  std::vector<race::Action> actions;
  for (;;) {
    if (done_) return;
    race_->take_actions(actions);
    if (actions.empty()) {
      if (setup_failures_.empty()) return;
      auto failures = std::exchange(setup_failures_, {});
      for (auto& [id, ec] : failures) race_->on_failed(now_, id, ec);
      continue;
    }
    for (const auto& action : actions) {
      if (done_) return;
      execute(action);
    }
  }
}

void DialOp::execute(const race::Action& action) {
  if (auto* s = std::get_if<race::StartAttempt>(&action)) return start_attempt(*s);
  if (auto* c = std::get_if<race::CancelAttempt>(&action)) return close_attempt(c->id);
  if (auto* t = std::get_if<race::ArmTimer>(&action)) return arm_timer(t->deadline);
  finish(std::get<race::Finish>(action));
}

// Each attempt opens its own socket, so the setup hook's options stay on
// the socket that connects (asio's range connect reopens and loses them).
void DialOp::start_attempt(const race::StartAttempt& s) {
  // The race numbers its attempts 1, 2, 3, ...
  attempts_.push_back(std::make_unique<Attempt>(io_ex_));
  Attempt& a = *attempts_.back();
  a.endpoint = tcp::endpoint(to_asio(s.address), port_);
  if (auto ec = open_socket(a)) {
    close_attempt(s.id);
    setup_failures_.emplace_back(s.id, ec);
    return;
  }
  a.socket.async_connect(a.endpoint, asio::bind_executor(strand_, [self = shared_from_this(), id = s.id](
                                                                      std::error_code ec) {
                           self->on_connect(id, ec);
                         }));
}

std::error_code DialOp::open_socket(Attempt& a) {
  std::error_code ec;
  a.socket.open(a.endpoint.protocol(), ec);
  if (!ec && options_.local_address) a.socket.bind(tcp::endpoint(to_asio(*options_.local_address), 0), ec);
  if (!ec && options_.socket_setup) options_.socket_setup(a.socket, ec);
  return ec;
}

void DialOp::close_attempt(race::AttemptId id) {
  if (id == 0 || id > attempts_.size()) return;
  Attempt& a = *attempts_[id - 1];
  a.pending = false;
  std::error_code ignored;
  a.socket.close(ignored);  // its handler comes later with operation_aborted and is ignored
}

void DialOp::arm_timer(TimePoint deadline) {
  ++timer_generation_;
  if (!timer_) timer_.emplace(strand_);
  timer_->expires_at(deadline);
  timer_->async_wait(asio::bind_executor(strand_, [self = shared_from_this(), g = timer_generation_](
                                                     std::error_code ec) { self->on_timer(ec, g); }));
}

// The race is over: close every other socket, let the lookup fill the cache
// (or stop it on cancellation), then hand the result over.
void DialOp::finish(const race::Finish& f) {
  done_ = true;
  if (timer_) timer_->cancel();
  if (anchor_) anchor_->cancel();
  Attempt* winner = f.winner ? attempts_.at(*f.winner - 1).get() : nullptr;
  DialResult result{winner ? std::move(winner->socket) : tcp::socket(io_ex_)};
  if (winner) {
    winner->pending = false;
    result.endpoint = winner->endpoint;
  }
  for (auto& attempt : attempts_) {
    std::error_code ignored;
    attempt->pending = false;
    attempt->socket.close(ignored);
  }
  if (lookup_) {
    if (cancelled_) lookup_->cancel();
    else lookup_->abandon();
    lookup_.reset();
  }
  result.failures = race_->failures();
  // Issue 7: a failed dial may mean the host's interfaces changed; decide again next time.
  if (!f.winner && !cancelled_) dialer_->connectivity.invalidate();
  std::error_code ec = f.winner ? std::error_code() : f.error;
  if (cancelled_ && !f.winner) ec = asio::error::operation_aborted;
  if (!f.winner && !ec) ec = errc::all_attempts_failed;
  complete(ec, std::move(result));
}

void DialOp::fail_early(std::error_code ec) {
  done_ = true;
  if (trace_.enabled()) {
    trace_.add({std::chrono::duration_cast<std::chrono::microseconds>(now_ - start_),
                std::string(ec == asio::error::operation_aborted ? event::cancelled : event::failed), std::nullopt,
                std::nullopt, ec.message()});
  }
  complete(ec, DialResult{tcp::socket(io_ex_)});
}

void DialOp::complete(std::error_code ec, DialResult result) {
  result.trace = std::move(trace_);
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now_ - start_);
  std::exchange(completion_, nullptr)->complete(ec, std::move(result), initiating.load(std::memory_order_relaxed));
}

// ---- entry points ----------------------------------------------------------

std::shared_ptr<DialOp> make_dial(const std::shared_ptr<Dialer::State>& dialer, const asio::any_io_executor& ex,
                                  std::string host, std::string service, DialOptions options,
                                  DialCompletion* completion) {
  try {
    return std::make_shared<DialOp>(dialer, ex, std::move(host), std::move(service), std::move(options),
                                    completion);
  } catch (...) {
    completion->destroy();
    throw;
  }
}

// asio::dispatch on a new strand runs start() inline, inside the strand,
// when this thread is running the io_context (a completion handler starting
// the next dial); that saves a trip through the queue and an extra poll of
// the reactor per dial. Anything that ends the dial inside start() is then
// posted (DialCompletion's immediate flag), so the handler never runs within
// the initiating call.
void start_dial(const std::shared_ptr<DialOp>& op) {
  op->initiating.store(true, std::memory_order_relaxed);
  asio::dispatch(op->strand(), [op] { op->start(); });
  op->initiating.store(false, std::memory_order_relaxed);
}

void cancel_dial(const std::weak_ptr<DialOp>& weak) {
  if (auto op = weak.lock()) asio::post(op->strand(), [op] { op->cancel(); });
}

}  // namespace heyes::detail
