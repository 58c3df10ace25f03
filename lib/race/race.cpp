// SPDX-License-Identifier: MIT
// The RFC 8305 connection race: a pure state machine fed events with a time, emitting actions.
#include "heyes/race/race.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "heyes/error.hpp"

namespace heyes::race {
namespace {

using std::chrono::milliseconds;

// RFC 8305 section 8: the Connection Attempt Delay has a hard minimum of
// 10 ms, a recommended minimum of 100 ms and a maximum of 2 s.
constexpr Duration kMinAttemptDelay = milliseconds(10);
constexpr Duration kRecommendedMinAttemptDelay = milliseconds(100);
constexpr Duration kMaxAttemptDelay = milliseconds(2000);

enum class Dns { waiting, answered, failed, not_expected };
enum class AttemptState { pending, failed, connected, cancelled };

struct Attempt {
  AttemptId id;
  IpAddress address;
  TimePoint started;
  Duration delay;  // the Connection Attempt Delay that followed this start
  AttemptState state = AttemptState::pending;
};

std::size_t index(Family f) { return f == Family::v6 ? 0 : 1; }

long long to_ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

std::string join(const std::vector<IpAddress>& addresses) {
  std::string out;
  for (const auto& a : addresses) {
    if (!out.empty()) out += ' ';
    out += a.to_string();
  }
  return out;
}

// RFC 8305 section 4 with late answers (HEv3): once attempts have begun, the
// not yet attempted addresses continue the family alternation, so the family
// that was not attempted last goes next. The orderer's order within each
// family is kept.
std::vector<IpAddress> continue_alternation(const std::vector<IpAddress>& ordered, Family last) {
  std::vector<IpAddress> same, other;
  for (const auto& a : ordered) (a.family() == last ? same : other).push_back(a);
  if (same.empty() || other.empty()) return ordered;
  std::vector<IpAddress> out;
  for (std::size_t i = 0; i < std::max(same.size(), other.size()); ++i) {
    if (i < other.size()) out.push_back(other[i]);
    if (i < same.size()) out.push_back(same[i]);
  }
  return out;
}

}  // namespace

struct Race::State {
  Config config;
  Orderer order;
  History* history;
  Trace* trace;
  TimePoint start;
  Duration attempt_delay{};

  std::array<Dns, 2> dns{Dns::waiting, Dns::waiting};  // [0] AAAA, [1] A
  std::array<std::error_code, 2> dns_errors{};
  std::optional<TimePoint> resolution_deadline;  // while the other family's answer is awaited
  Family awaited = Family::v6;                   // the family awaited until resolution_deadline
  bool racing = false;                           // the first ordering is done; attempts may start
  std::vector<IpAddress> candidates;             // not yet attempted, in attempt order
  std::vector<Attempt> attempts;                 // index = id - 1
  TimePoint next_start{};                        // earliest start of the next attempt
  std::optional<TimePoint> armed;                // the deadline last asked for
  bool finished = false;
  std::vector<AttemptFailure> failures;
  std::vector<Action> actions;

  // Trace helpers. The detail is a callable that makes the text, so a dial
  // with the trace off formats nothing (that formatting was about a third of
  // the instructions of a dial to a literal).
  bool tracing() const { return trace != nullptr && trace->enabled(); }
  template <class MakeDetail>
  void note(TimePoint now, std::string_view type, std::optional<Family> family, std::optional<IpAddress> address,
            MakeDetail&& make_detail);
  template <class MakeDetail>
  void note_attempt(TimePoint now, std::string_view type, const Attempt& a, MakeDetail&& make_detail);

  // Inputs.
  void answer(TimePoint now, Family family, std::vector<IpAddress> addresses, bool then_step = true);
  void maybe_wait_for_other(TimePoint now, Family family, const std::vector<IpAddress>& fresh);
  void answer_error(TimePoint now, Family family, std::error_code error);
  void connected(TimePoint now, AttemptId id);
  void failed(TimePoint now, AttemptId id, std::error_code error);
  void cancel(TimePoint now);

  // The central step, run after every input.
  void step(TimePoint now);
  void maybe_begin(TimePoint now);
  void start_due_attempts(TimePoint now);
  void start_attempt(TimePoint now);
  Duration delay_after(const IpAddress& address, TimePoint now) const;
  void merge(TimePoint now, const std::vector<IpAddress>& fresh);
  void reorder(TimePoint now);
  bool exhausted() const;
  void rearm(TimePoint now);

  // Endings.
  void win(TimePoint now, Attempt& winner);
  void give_up(TimePoint now);
  void time_out(TimePoint now);
  void cancel_pending(TimePoint now, std::string_view why);
  void finish(std::optional<AttemptId> winner, std::error_code error);
  std::error_code no_address_error() const;

  Attempt* pending(AttemptId id);
  std::size_t pending_count() const;
  std::optional<TimePoint> timeout_deadline() const;
};

// ---------------------------------------------------------------- trace

template <class MakeDetail>
void Race::State::note(TimePoint now, std::string_view type, std::optional<Family> family,
                       std::optional<IpAddress> address, MakeDetail&& make_detail) {
  if (!tracing()) return;
  auto t = std::chrono::duration_cast<std::chrono::microseconds>(now - start);
  trace->add(TraceEvent{t, std::string(type), family, address, std::string(make_detail())});
}

template <class MakeDetail>
void Race::State::note_attempt(TimePoint now, std::string_view type, const Attempt& a, MakeDetail&& make_detail) {
  note(now, type, a.address.family(), a.address,
       [&] { return fmt::format("attempt {}: {}", a.id, std::string(make_detail())); });
}

// ---------------------------------------------------------------- inputs

void Race::State::answer(TimePoint now, Family family, std::vector<IpAddress> addresses, bool then_step) {
  if (finished) return;
  note(now, event::dns_answer, family, std::nullopt,
       [&] { return fmt::format("{} address(es): {}", addresses.size(), join(addresses)); });
  dns[index(family)] = Dns::answered;
  // Drop duplicates and addresses already attempted or queued, in place
  // (addresses becomes the fresh ones, in their order: no second vector).
  auto fresh_end = addresses.begin();
  for (auto it = addresses.begin(); it != addresses.end(); ++it) {
    const IpAddress& a = *it;
    bool known = std::find(candidates.begin(), candidates.end(), a) != candidates.end() ||
                 std::find(addresses.begin(), fresh_end, a) != fresh_end ||
                 std::any_of(attempts.begin(), attempts.end(), [&](const Attempt& t) { return t.address == a; });
    if (!known) *fresh_end++ = a;
  }
  addresses.erase(fresh_end, addresses.end());
  std::vector<IpAddress>& fresh = addresses;
  if (racing) {
    merge(now, fresh);
  } else if (candidates.empty()) {
    candidates.swap(fresh);  // the usual first answer: keep its buffer
    maybe_wait_for_other(now, family, candidates);
  } else {
    candidates.insert(candidates.end(), fresh.begin(), fresh.end());
    maybe_wait_for_other(now, family, fresh);
  }
  if (then_step) step(now);
}

// RFC 8305 section 3: A (with addresses) before AAAA: wait the Resolution
// Delay for AAAA. The same wait applies to an AAAA answer while A is awaited
// when starting it at once would be wrong: every address failed recently
// (history), or the policy ranks IPv4 above all of them (the preferred
// family is IPv4, so it is the one worth waiting for).
void Race::State::maybe_wait_for_other(TimePoint now, Family family, const std::vector<IpAddress>& fresh) {
  Family other = family == Family::v4 ? Family::v6 : Family::v4;
  if (fresh.empty() || dns[index(other)] != Dns::waiting || resolution_deadline) return;
  std::string_view why = "A first";
  if (family == Family::v6) {
    bool all_failed = history != nullptr && std::all_of(fresh.begin(), fresh.end(), [&](const IpAddress& a) {
      return history->recently_failed(a, now);
    });
    if (all_failed)
      why = "every AAAA address failed recently";
    else if (config.v4_outranks && config.v4_outranks(fresh))
      why = "the policy prefers IPv4 to every AAAA address";
    else
      return;
  }
  awaited = other;
  resolution_deadline = now + std::max<Duration>(config.resolution_delay, Duration::zero());
  note(now, event::resolution_delay, other, std::nullopt,
       [&] {
         return fmt::format("{}: waiting up to {} ms for {}", why, to_ms(*resolution_deadline - now),
                            other == Family::v6 ? "AAAA" : "A");
       });
}

void Race::State::answer_error(TimePoint now, Family family, std::error_code error) {
  if (finished) return;
  note(now, event::dns_error, family, std::nullopt, [&] { return error.message(); });
  // RFC 8305 section 3: a negative or failed answer stops the waiting at once.
  dns[index(family)] = Dns::failed;
  dns_errors[index(family)] = error;
  step(now);
}

void Race::State::connected(TimePoint now, AttemptId id) {
  if (finished) return;
  Attempt* a = pending(id);
  if (a == nullptr) return;
  a->state = AttemptState::connected;
  note_attempt(now, event::connected, *a, [&] { return fmt::format("connected in {} ms", to_ms(now - a->started)); });
  if (history != nullptr) history->record_success(a->address, now - a->started, now);
  win(now, *a);
}

void Race::State::failed(TimePoint now, AttemptId id, std::error_code error) {
  if (finished) return;
  Attempt* a = pending(id);
  if (a == nullptr) return;
  a->state = AttemptState::failed;
  note_attempt(now, event::attempt_failed, *a, [&] { return error.message(); });
  failures.push_back({a->address, error});
  if (history != nullptr) history->record_failure(a->address, now);
  // RFC 8305 section 5: when an attempt fails, the next one starts at once
  // rather than after the rest of the Connection Attempt Delay.
  next_start = std::min(next_start, now);
  step(now);
}

void Race::State::cancel(TimePoint now) {
  if (finished) return;
  note(now, event::cancelled, std::nullopt, std::nullopt, [] { return "cancelled by the caller"; });
  cancel_pending(now, "cancelled by the caller");
  finish(std::nullopt, std::make_error_code(std::errc::operation_canceled));
}

// ---------------------------------------------------------------- the step

void Race::State::step(TimePoint now) {
  if (finished) return;
  if (auto deadline = timeout_deadline(); deadline && now >= *deadline) {
    time_out(now);
    return;
  }
  maybe_begin(now);
  start_due_attempts(now);
  if (exhausted()) {
    give_up(now);
    return;
  }
  rearm(now);
}

// RFC 8305 section 3: start unless the other family's answer is awaited
// (A came first, or every AAAA address failed recently) and the Resolution
// Delay is not over yet; an answer or a failure of that family ends the wait.
void Race::State::maybe_begin(TimePoint now) {
  if (racing || candidates.empty()) return;
  bool awaiting = resolution_deadline && dns[index(awaited)] == Dns::waiting;
  if (awaiting && now < *resolution_deadline) return;
  if (awaiting)
    note(now, event::resolution_delay, awaited, std::nullopt,
         [&] {
           return fmt::format("no {} answer in time: starting without it", awaited == Family::v6 ? "AAAA" : "A");
         });
  reorder(now);
  racing = true;
  next_start = now;
}

// RFC 8305 section 4, late answers: merge the new addresses with those not
// yet attempted and order them again; attempts already started go on.
void Race::State::merge(TimePoint now, const std::vector<IpAddress>& fresh) {
  if (fresh.empty()) return;
  candidates.insert(candidates.end(), fresh.begin(), fresh.end());
  reorder(now);
}

// RFC 8305 section 4: order with RFC 6724 and interleave the families (the
// orderer), keep the alternation going across attempts already started, and
// put recently failed addresses after all the others. The history's RFC 6724
// rule sits between rules 8 and 9, so it cannot move a failed IPv6 behind an
// IPv4 (rule 6, precedence, decides first): this partition does.
void Race::State::reorder(TimePoint now) {
  if (order) candidates = order(std::move(candidates));
  if (!attempts.empty()) candidates = continue_alternation(candidates, attempts.back().address.family());
  std::size_t failed = 0;
  if (history != nullptr) {
    auto ok = std::stable_partition(candidates.begin(), candidates.end(),
                                    [&](const IpAddress& a) { return !history->recently_failed(a, now); });
    failed = static_cast<std::size_t>(candidates.end() - ok);
  }
  note(now, event::sorted, std::nullopt, std::nullopt,
       [&] {
         return failed == 0 ? join(candidates)
                            : fmt::format("{} ({} failed recently, last)", join(candidates), failed);
       });
}

// RFC 8305 section 5: one attempt per Connection Attempt Delay, never more
// than max_in_flight pending at once.
void Race::State::start_due_attempts(TimePoint now) {
  auto cap = static_cast<std::size_t>(std::max(config.max_in_flight, 1));
  while (racing && !finished && !candidates.empty() && now >= next_start && pending_count() < cap)
    start_attempt(now);
}

void Race::State::start_attempt(TimePoint now) {
  IpAddress address = candidates.front();
  candidates.erase(candidates.begin());
  Attempt a{static_cast<AttemptId>(attempts.size() + 1), address, now, delay_after(address, now)};
  next_start = now + a.delay;
  attempts.push_back(a);
  actions.emplace_back(StartAttempt{a.id, address});
  note_attempt(now, event::attempt_start, a,
               [&] {
                 return candidates.empty() ? std::string("last address")
                                           : fmt::format("next attempt in {} ms", to_ms(a.delay));
               });
}

// The Connection Attempt Delay after starting address: from the history
// (twice its smoothed RTT, within [100 ms, 2 s]) when allowed and known.
Duration Race::State::delay_after(const IpAddress& address, TimePoint now) const {
  if (config.attempt_delay_from_history && history != nullptr) {
    if (auto srtt = history->smoothed_rtt(address, now))
      return std::clamp<Duration>(2 * *srtt, kRecommendedMinAttemptDelay, kMaxAttemptDelay);
  }
  return attempt_delay;
}

// Nothing left to try and nothing left to come.
bool Race::State::exhausted() const {
  bool dns_done = dns[0] != Dns::waiting && dns[1] != Dns::waiting;
  return dns_done && candidates.empty() && pending_count() == 0;
}

// Ask for one wake-up at the earliest deadline that matters now.
void Race::State::rearm(TimePoint now) {
  std::optional<TimePoint> want = timeout_deadline();
  auto consider = [&](TimePoint t) {
    if (t > now && (!want || t < *want)) want = t;
  };
  if (!racing && resolution_deadline) consider(*resolution_deadline);
  auto cap = static_cast<std::size_t>(std::max(config.max_in_flight, 1));
  if (racing && !candidates.empty() && pending_count() < cap) consider(next_start);
  if (want && want != armed) {
    armed = want;
    actions.emplace_back(ArmTimer{*want});
  }
}

// ---------------------------------------------------------------- endings

// The first attempt to connect wins; every other pending attempt is cancelled
// at once. One that had already had its Connection Attempt Delay is slow or
// black-holed: the history remembers it as a failure.
void Race::State::win(TimePoint now, Attempt& winner) {
  for (auto& a : attempts) {
    if (a.state != AttemptState::pending) continue;
    a.state = AttemptState::cancelled;
    bool slow = now - a.started >= a.delay;
    if (slow && history != nullptr) history->record_failure(a.address, now);
    actions.emplace_back(CancelAttempt{a.id});
    note_attempt(now, event::attempt_cancelled, a,
                 [&] {
                   return fmt::format("lost to {} after {} ms{}", winner.address.to_string(), to_ms(now - a.started),
                                      slow ? "; remembered as failed" : "");
                 });
  }
  finish(winner.id, {});
}

void Race::State::give_up(TimePoint now) {
  std::error_code error = failures.empty() ? no_address_error() : make_error_code(errc::all_attempts_failed);
  note(now, event::failed, std::nullopt, std::nullopt,
       [&] { return fmt::format("{} ({} address(es) failed)", error.message(), failures.size()); });
  finish(std::nullopt, error);
}

// No address was found: keep the DNS cause when every expected family failed
// the same way (NXDOMAIN on both: host_not_found), else no_address.
std::error_code Race::State::no_address_error() const {
  std::error_code common;
  for (std::size_t i = 0; i < 2; ++i) {
    if (dns[i] == Dns::not_expected) continue;
    if (dns[i] != Dns::failed) return errc::no_address;
    if (common && common != dns_errors[i]) return errc::no_address;
    common = dns_errors[i];
  }
  if (!common || common == errc::no_data) return errc::no_address;
  return common;
}

void Race::State::time_out(TimePoint now) {
  auto limit = to_ms(config.timeout);
  note(now, event::timed_out, std::nullopt, std::nullopt,
       [&] { return fmt::format("overall timeout of {} ms", limit); });
  for (const auto& a : attempts)
    if (a.state == AttemptState::pending) failures.push_back({a.address, make_error_code(errc::timed_out)});
  cancel_pending(now, "overall timeout");
  finish(std::nullopt, errc::timed_out);
}

void Race::State::cancel_pending(TimePoint now, std::string_view why) {
  for (auto& a : attempts) {
    if (a.state != AttemptState::pending) continue;
    a.state = AttemptState::cancelled;
    actions.emplace_back(CancelAttempt{a.id});
    note_attempt(now, event::attempt_cancelled, a, [&] { return std::string(why); });
  }
}

void Race::State::finish(std::optional<AttemptId> winner, std::error_code error) {
  finished = true;
  candidates.clear();
  actions.emplace_back(Finish{winner, error});
}

// ---------------------------------------------------------------- lookups

Attempt* Race::State::pending(AttemptId id) {
  if (id == 0 || id > attempts.size()) return nullptr;
  Attempt& a = attempts[id - 1];
  return a.state == AttemptState::pending ? &a : nullptr;
}

std::size_t Race::State::pending_count() const {
  return static_cast<std::size_t>(std::count_if(attempts.begin(), attempts.end(),
                                                [](const Attempt& a) { return a.state == AttemptState::pending; }));
}

std::optional<TimePoint> Race::State::timeout_deadline() const {
  if (config.timeout <= Duration::zero()) return std::nullopt;
  return start + config.timeout;
}

// ---------------------------------------------------------------- Race

Race::Race(Config config, Orderer order, History* history, Trace* trace, TimePoint start)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.config = config;
  s.order = std::move(order);
  s.history = history;
  s.trace = trace;
  s.start = start;
  // RFC 8305 section 5: clamp the Connection Attempt Delay; below the
  // recommended 100 ms minimum is allowed but worth a warning.
  s.attempt_delay = std::clamp<Duration>(config.attempt_delay, kMinAttemptDelay, kMaxAttemptDelay);
  if (s.attempt_delay != config.attempt_delay)
    s.note(start, event::warning, std::nullopt, std::nullopt,
           [&] {
             return fmt::format("connection attempt delay {} ms clamped to {} ms", to_ms(config.attempt_delay),
                                to_ms(s.attempt_delay));
           });
  if (s.attempt_delay < kRecommendedMinAttemptDelay)
    s.note(start, event::warning, std::nullopt, std::nullopt,
           [&] {
             return fmt::format("connection attempt delay {} ms is below the recommended 100 ms",
                                to_ms(s.attempt_delay));
           });
  // A family that will not be asked for is never waited for (issue 7).
  if (!config.expect_v6) s.dns[0] = Dns::not_expected;
  if (!config.expect_v4) s.dns[1] = Dns::not_expected;
  s.step(start);
}

void Race::on_answer(TimePoint now, Family family, std::vector<IpAddress> addresses) {
  state_->answer(now, family, std::move(addresses));
}
void Race::on_answers(TimePoint now, std::vector<IpAddress> v6, std::vector<IpAddress> v4) {
  // Neither family waits for the other: both are here.
  if (!state_->finished) state_->dns[1] = Dns::answered;
  state_->answer(now, Family::v6, std::move(v6), false);
  state_->answer(now, Family::v4, std::move(v4));
}
void Race::on_answer_error(TimePoint now, Family family, std::error_code error) {
  state_->answer_error(now, family, error);
}
void Race::on_connected(TimePoint now, AttemptId id) { state_->connected(now, id); }
void Race::on_failed(TimePoint now, AttemptId id, std::error_code error) { state_->failed(now, id, error); }
void Race::on_timer(TimePoint now) {
  if (state_->armed && now >= *state_->armed) state_->armed.reset();
  state_->step(now);
}
void Race::cancel(TimePoint now) { state_->cancel(now); }

std::vector<Action> Race::take_actions() { return std::exchange(state_->actions, {}); }

void Race::take_actions(std::vector<Action>& into) {
  into.clear();
  std::swap(into, state_->actions);
}

bool Race::finished() const noexcept { return state_->finished; }
const std::vector<AttemptFailure>& Race::failures() const noexcept { return state_->failures; }

const IpAddress& Race::address_of(AttemptId id) const {
  if (id == 0 || id > state_->attempts.size()) throw std::out_of_range("heyes::race: unknown attempt id");
  return state_->attempts[id - 1].address;
}

std::error_code Race::dns_error(Family family) const noexcept { return state_->dns_errors[index(family)]; }
Duration Race::attempt_delay() const noexcept { return state_->attempt_delay; }

}  // namespace heyes::race
