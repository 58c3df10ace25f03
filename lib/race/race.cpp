// SPDX-License-Identifier: MIT
// The RFC 8305 connection race: a pure state machine that records inputs and decides when asked for its actions.
#include "heyes/race/race.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
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

// The Connection Attempt Delay chosen after one start, and why (for the trace).
struct Delay {
  Duration value{};
  enum class Source { fixed, no_evidence, rtt, schedule } source = Source::fixed;
  std::optional<History::RttEvidence> evidence;  // Source::rtt
  Duration unclamped{};
  int step = 0;  // Source::schedule: the delay's index
};

struct Attempt {
  AttemptId id;
  IpAddress address;
  TimePoint started;
  Duration delay;  // the Connection Attempt Delay that followed this start
  AttemptState state = AttemptState::pending;
};

std::size_t index(Family f) { return f == Family::v6 ? 0 : 1; }
Family other_family(Family f) { return f == Family::v6 ? Family::v4 : Family::v6; }
std::string_view record_type(Family f) { return f == Family::v6 ? "AAAA" : "A"; }

long long to_ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

std::string join(const std::vector<IpAddress>& addresses) {
  std::string out;
  for (const auto& a : addresses) {
    if (!out.empty()) out += ' ';
    out += a.to_string();
  }
  return out;
}

// Why this delay: "fixed", "RTO of 2001:db8::/64 from 3 samples", ...
std::string reason(const Delay& d) {
  switch (d.source) {
    case Delay::Source::fixed: return "fixed";
    case Delay::Source::no_evidence: return "no RTT evidence, the default";
    case Delay::Source::schedule: return fmt::format("schedule step {}", d.step + 1);
    case Delay::Source::rtt: break;
  }
  const auto& e = *d.evidence;
  std::string path = e.network ? fmt::format("{}/{}", e.prefix.to_string(), e.prefix_length) : e.prefix.to_string();
  return fmt::format("RTO of {} from {} sample{}", path, e.samples, e.samples == 1 ? "" : "s");
}

// "RTO of 2001:db8::/64 from 3 samples: 100 ms", with the clamping when it applied.
std::string describe(const Delay& d) {
  if (d.unclamped != d.value)
    return fmt::format("{}: {} ms, {} to {} ms", reason(d), to_ms(d.unclamped),
                       d.unclamped < d.value ? "raised" : "lowered", to_ms(d.value));
  return fmt::format("{}: {} ms", reason(d), to_ms(d.value));
}

}  // namespace

struct Race::State {
  Config config;
  Orderer order;
  const History* history;
  Trace* trace;
  TimePoint start;
  Duration attempt_delay{};

  // Inputs, as recorded.
  std::array<Dns, 2> dns{Dns::waiting, Dns::waiting};  // [0] AAAA, [1] A
  std::array<std::error_code, 2> dns_errors{};
  std::array<std::optional<TimePoint>, 2> answered_at{};  // answers with addresses
  std::vector<IpAddress> candidates;                      // not yet attempted (in attempt order once racing)
  std::vector<IpAddress> held;                            // translated addresses kept as the last resort
  bool native_v6 = false;                                 // an AAAA answer held a native (untranslated) address
  std::optional<TimePoint> last_native_v6_start;          // of the latest attempt to a native IPv6 address
  bool unordered = false;                                 // addresses arrived since the last ordering
  std::vector<Attempt> attempts;                          // index = id - 1
  std::optional<AttemptId> winner;                        // the first attempt that connected
  bool cancel_requested = false;

  // Decisions.
  std::optional<TimePoint> resolution_deadline;  // while the other family's answer is awaited
  Family awaited = Family::v6;                   // the family awaited until resolution_deadline
  bool racing = false;                           // the first ordering is done; attempts may start
  TimePoint next_start{};                        // earliest start of the next attempt
  std::optional<TimePoint> armed;                // the deadline last asked for
  bool finished = false;
  std::vector<AttemptFailure> failures;
  std::vector<Action> actions;

  // Trace helpers. The detail is a callable that makes the text, so a dial
  // with the trace off formats nothing.
  bool tracing() const { return trace != nullptr && trace->enabled(); }
  std::chrono::microseconds since_start(TimePoint now) const {
    return std::chrono::duration_cast<std::chrono::microseconds>(now - start);
  }
  template <class MakeDetail>
  void note(TimePoint now, std::string_view type, std::optional<Family> family, std::optional<IpAddress> address,
            MakeDetail&& make_detail);
  template <class MakeDetail>
  void note_attempt(TimePoint now, std::string_view type, const Attempt& a, MakeDetail&& make_detail);

  // Inputs.
  void answer(TimePoint now, Family family, std::vector<IpAddress> addresses, AnswerOrigin origin);
  void answer_error(TimePoint now, Family family, std::error_code error, AnswerOrigin origin);
  void connected(TimePoint now, AttemptId id);
  void failed(TimePoint now, AttemptId id, std::error_code error);
  void remember(const IpAddress& address, History::Update::Kind kind, Duration rtt, TimePoint now);
  bool is_translated(const IpAddress& a) const { return config.translated && config.translated(a); }
  Family sort_family(const IpAddress& a) const { return is_translated(a) ? Family::v4 : a.family(); }
  void hold_translated();

  // The central step, run when actions are taken.
  void step(TimePoint now);
  void maybe_wait_for_other(TimePoint now);
  void maybe_begin(TimePoint now);
  void end_overdue_attempts(TimePoint now);
  void start_due_attempts(TimePoint now);
  void abandon_oldest(TimePoint now);
  void start_attempt(TimePoint now);
  Delay delay_after(const IpAddress& address, TimePoint now) const;
  void reorder(TimePoint now);
  void release_last_resort(TimePoint now);
  std::optional<TimePoint> last_resort_due() const;
  bool exhausted() const;
  void rearm(TimePoint now);

  // Endings.
  void win(TimePoint now);
  void cancel(TimePoint now);
  void give_up(TimePoint now);
  void time_out(TimePoint now);
  void cancel_pending(TimePoint now, std::string_view why);
  void finish(std::optional<AttemptId> winner, std::error_code error);
  std::error_code no_address_error() const;

  Attempt* pending(AttemptId id);
  std::size_t pending_count() const;
  std::optional<TimePoint> timeout_deadline() const;
  std::size_t cap() const { return static_cast<std::size_t>(std::max(config.max_in_flight, 1)); }
};

// ---------------------------------------------------------------- trace

template <class MakeDetail>
void Race::State::note(TimePoint now, std::string_view type, std::optional<Family> family,
                       std::optional<IpAddress> address, MakeDetail&& make_detail) {
  if (!tracing()) return;
  trace->add(TraceEvent{since_start(now), std::string(type), family, address, std::string(make_detail())});
}

template <class MakeDetail>
void Race::State::note_attempt(TimePoint now, std::string_view type, const Attempt& a, MakeDetail&& make_detail) {
  note(now, type, a.address.family(), a.address,
       [&] { return fmt::format("attempt {}: {}", a.id, std::string(make_detail())); });
}

// ---------------------------------------------------------------- inputs

// Addresses already queued or attempted, and repeats within the answer, are
// dropped in place (addresses becomes the fresh ones, in their order).
void Race::State::answer(TimePoint now, Family family, std::vector<IpAddress> addresses, AnswerOrigin origin) {
  if (finished) return;
  if (tracing()) {
    TraceEvent e{since_start(now), std::string(event::dns_answer), family, std::nullopt,
                 fmt::format("{} address(es){}{}: {}", addresses.size(), origin.source.empty() ? "" : " from ",
                             origin.source, join(addresses))};
    e.source = std::move(origin.source);
    e.addresses = addresses;
    trace->add(std::move(e));
  }
  dns[index(family)] = Dns::answered;
  auto fresh_end = addresses.begin();
  for (auto it = addresses.begin(); it != addresses.end(); ++it) {
    const IpAddress& a = *it;
    bool known = std::find(candidates.begin(), candidates.end(), a) != candidates.end() ||
                 std::find(held.begin(), held.end(), a) != held.end() ||
                 std::find(addresses.begin(), fresh_end, a) != fresh_end ||
                 std::any_of(attempts.begin(), attempts.end(), [&](const Attempt& t) { return t.address == a; });
    if (!known) *fresh_end++ = a;
  }
  addresses.erase(fresh_end, addresses.end());
  if (addresses.empty()) return;
  if (!answered_at[index(family)]) answered_at[index(family)] = now;
  if (candidates.empty()) candidates.swap(addresses);  // the usual first answer: keep its buffer
  else candidates.insert(candidates.end(), addresses.begin(), addresses.end());
  unordered = true;
  if (!config.translated) return;
  if (family == Family::v6 && !native_v6)
    native_v6 = std::any_of(candidates.begin(), candidates.end(),
                            [&](const IpAddress& a) { return a.is_v6() && !is_translated(a); });
  if (native_v6) hold_translated();
}

// RFC 8305 section 7.2: while the name has native IPv6 addresses, the ones
// that stand for IPv4 addresses wait (their order is decided on release).
void Race::State::hold_translated() {
  auto keep = std::stable_partition(candidates.begin(), candidates.end(),
                                    [&](const IpAddress& a) { return !is_translated(a); });
  held.insert(held.end(), keep, candidates.end());
  candidates.erase(keep, candidates.end());
}

void Race::State::answer_error(TimePoint now, Family family, std::error_code error, AnswerOrigin origin) {
  if (finished) return;
  if (tracing()) {
    // "every nameserver failed: SERVFAIL from 127.0.0.1:5353"
    std::string detail = error.message();
    if (!origin.rcode.empty()) detail += fmt::format(": {} from {}", origin.rcode, origin.server);
    TraceEvent e{since_start(now), std::string(event::dns_error), family, std::nullopt, std::move(detail)};
    e.source = std::move(origin.source);
    e.rcode = std::move(origin.rcode);
    e.server = std::move(origin.server);
    trace->add(std::move(e));
  }
  // RFC 8305 section 3: a negative or failed answer stops the waiting at once.
  dns[index(family)] = Dns::failed;
  dns_errors[index(family)] = error;
}

void Race::State::connected(TimePoint now, AttemptId id) {
  if (finished) return;
  Attempt* a = pending(id);
  if (a == nullptr) return;
  a->state = AttemptState::connected;
  note_attempt(now, event::connected, *a, [&] { return fmt::format("connected in {} ms", to_ms(now - a->started)); });
  remember(a->address, History::Update::success, now - a->started, now);
  if (!winner) winner = id;
}

void Race::State::failed(TimePoint now, AttemptId id, std::error_code error) {
  if (finished) return;
  Attempt* a = pending(id);
  if (a == nullptr) return;
  a->state = AttemptState::failed;
  note_attempt(now, event::attempt_failed, *a, [&] { return error.message(); });
  failures.push_back({a->address, error});
  remember(a->address, History::Update::failure, {}, now);
  // RFC 8305 section 5: when an attempt fails, the next one starts at once
  // rather than after the rest of the Connection Attempt Delay.
  next_start = std::min(next_start, now);
}

// The race reads the history and reports what it learnt; the caller writes it.
void Race::State::remember(const IpAddress& address, History::Update::Kind kind, Duration rtt, TimePoint now) {
  if (history != nullptr) actions.emplace_back(Remember{History::Update{address, kind, rtt, now}});
}

// ---------------------------------------------------------------- the step

void Race::State::step(TimePoint now) {
  if (finished) return;
  if (cancel_requested) return cancel(now);
  if (winner) return win(now);
  if (auto deadline = timeout_deadline(); deadline && now >= *deadline) return time_out(now);
  end_overdue_attempts(now);
  release_last_resort(now);
  maybe_wait_for_other(now);
  maybe_begin(now);
  if (racing && unordered) reorder(now);
  start_due_attempts(now);
  if (!held.empty() && candidates.empty() && pending_count() == 0) {  // every native address failed
    release_last_resort(now);
    maybe_begin(now);
    if (racing && unordered) reorder(now);
    start_due_attempts(now);
  }
  if (exhausted()) return give_up(now);
  rearm(now);
}

// The held addresses join the race at once: by the Last Resort Local
// Synthesis Delay, or earlier when nothing else is left to try (no
// candidate, no attempt pending: the AAAA answer came and failed).
void Race::State::release_last_resort(TimePoint now) {
  if (held.empty()) return;
  auto at = last_resort_due();
  bool due = at && now >= *at;
  bool idle = candidates.empty() && pending_count() == 0 && dns[index(Family::v6)] != Dns::waiting;
  if (!due && !idle) return;
  note(now, event::last_resort, Family::v4, std::nullopt, [&] {
    return fmt::format("{}: {} address(es) synthesized from A records join the race: {}",
                       due ? fmt::format("no connection {} ms after the last native IPv6 attempt started",
                                         to_ms(config.last_resort_delay))
                           : std::string("every native IPv6 address failed"),
                       held.size(), join(held));
  });
  candidates.insert(candidates.end(), held.begin(), held.end());
  held.clear();
  unordered = true;
  next_start = std::min(next_start, now);
}

// RFC 8305 section 8: the Last Resort Local Synthesis Delay runs from the
// start of the last IPv6 attempt; none is due while a native IPv6 address
// is still to be tried (from the race's start when none was tried).
std::optional<TimePoint> Race::State::last_resort_due() const {
  if (std::any_of(candidates.begin(), candidates.end(), [&](const IpAddress& a) { return a.is_v6() && !is_translated(a); }))
    return std::nullopt;
  return last_native_v6_start.value_or(start) + config.last_resort_delay;
}

// RFC 8305 section 3: A (with addresses) before AAAA: wait the Resolution
// Delay for AAAA. The same wait applies to an AAAA answer while A is awaited
// when starting it at once would be wrong: every address failed recently
// (history), or the policy ranks IPv4 above all of them (the preferred
// family is IPv4, so it is the one worth waiting for). The wait counts from
// the answer's arrival.
void Race::State::maybe_wait_for_other(TimePoint now) {
  if (racing || resolution_deadline || candidates.empty()) return;
  for (Family family : {Family::v4, Family::v6}) {
    Family other = other_family(family);
    if (!answered_at[index(family)] || dns[index(other)] != Dns::waiting) continue;
    std::string_view why = "A first";
    if (family == Family::v6) {
      bool all_failed = history != nullptr && std::all_of(candidates.begin(), candidates.end(), [&](const IpAddress& a) {
        return history->recently_failed(a, now);
      });
      if (all_failed)
        why = "every AAAA address failed recently";
      else if (config.v4_outranks && config.v4_outranks(candidates))
        why = "the policy prefers IPv4 to every AAAA address";
      else
        return;
    }
    awaited = other;
    resolution_deadline = *answered_at[index(family)] + std::max<Duration>(config.resolution_delay, Duration::zero());
    note(now, event::resolution_delay, other, std::nullopt, [&] {
      return fmt::format("{}: waiting up to {} ms for {}", why, to_ms(*resolution_deadline - now), record_type(other));
    });
    return;
  }
}

// RFC 8305 section 3: start unless the other family's answer is awaited and
// the Resolution Delay is not over yet; an answer or a failure of that
// family ends the wait.
void Race::State::maybe_begin(TimePoint now) {
  if (racing || candidates.empty()) return;
  bool awaiting = resolution_deadline && dns[index(awaited)] == Dns::waiting;
  if (awaiting && now < *resolution_deadline) return;
  if (awaiting)
    note(now, event::resolution_delay, awaited, std::nullopt,
         [&] { return fmt::format("no {} answer in time: starting without it", record_type(awaited)); });
  racing = true;
  unordered = true;
  next_start = now;
}

// RFC 8305 section 4 (with late answers merged): order the addresses not yet
// attempted; the orderer continues the family alternation of the attempts
// already started, which go on.
void Race::State::reorder(TimePoint now) {
  unordered = false;
  std::optional<Family> after;
  if (!attempts.empty()) after = sort_family(attempts.back().address);
  if (order) candidates = order(std::move(candidates), after, now);
  note(now, event::sorted, std::nullopt, std::nullopt, [&] {
    auto failed = history == nullptr ? 0
                                     : std::count_if(candidates.begin(), candidates.end(),
                                                     [&](const IpAddress& a) { return history->recently_failed(a, now); });
    return failed == 0 ? join(candidates) : fmt::format("{} ({} failed recently, last)", join(candidates), failed);
  });
}

// The per-attempt timeout: an attempt still pending at its limit fails with
// its own cause, and the next one starts at once, as after any failure.
void Race::State::end_overdue_attempts(TimePoint now) {
  if (config.attempt_timeout <= Duration::zero()) return;
  for (auto& a : attempts) {
    if (a.state != AttemptState::pending || now - a.started < config.attempt_timeout) continue;
    a.state = AttemptState::cancelled;
    actions.emplace_back(CancelAttempt{a.id});
    note_attempt(now, event::attempt_abandoned, a,
                 [&] { return fmt::format("timed out after {} ms (attempt timeout)", to_ms(now - a.started)); });
    failures.push_back({a.address, make_error_code(errc::attempt_timed_out)});
    remember(a.address, History::Update::failure, {}, now);
    next_start = std::min(next_start, now);
  }
}

// RFC 8305 section 5: one attempt per Connection Attempt Delay. The k-th
// address starts on schedule however many earlier attempts hang: at the
// in-flight cap the oldest pending attempt is abandoned to make room.
void Race::State::start_due_attempts(TimePoint now) {
  while (racing && !finished && !candidates.empty() && now >= next_start) {
    if (pending_count() >= cap()) abandon_oldest(now);
    start_attempt(now);
  }
}

void Race::State::abandon_oldest(TimePoint now) {
  auto oldest = std::find_if(attempts.begin(), attempts.end(),
                             [](const Attempt& a) { return a.state == AttemptState::pending; });
  if (oldest == attempts.end()) return;
  Attempt& a = *oldest;
  a.state = AttemptState::cancelled;
  actions.emplace_back(CancelAttempt{a.id});
  note_attempt(now, event::attempt_abandoned, a, [&] {
    return fmt::format("abandoned after {} ms for a newer attempt ({} in flight)", to_ms(now - a.started), cap());
  });
  failures.push_back({a.address, make_error_code(errc::attempt_abandoned)});
  remember(a.address, History::Update::failure, {}, now);
}

void Race::State::start_attempt(TimePoint now) {
  IpAddress address = candidates.front();
  candidates.erase(candidates.begin());
  Delay delay = delay_after(address, now);
  Attempt a{static_cast<AttemptId>(attempts.size() + 1), address, now, delay.value};
  if (address.is_v6() && !is_translated(address)) last_native_v6_start = now;
  next_start = now + a.delay;
  attempts.push_back(a);
  actions.emplace_back(StartAttempt{a.id, address});
  note_attempt(now, event::attempt_start, a, [&] {
    return candidates.empty() ? std::string("last address")
                              : fmt::format("next attempt in {} ms ({})", to_ms(a.delay), reason(delay));
  });
  note_attempt(now, event::attempt_delay, a, [&] { return describe(delay); });
}

// The Connection Attempt Delay after starting address, by the policy:
// fixed; a schedule (each delay multiplier times the one before); or, by
// default, the path's retransmission timeout (RFC 6298: SRTT + max(G, 4
// RTTVAR)) from the destination's RTT samples or, failing those, its
// network's, within [100 ms, 2 s] (RFC 8305 section 5, HEv3 section 6), and
// the configured delay without evidence.
Delay Race::State::delay_after(const IpAddress& address, TimePoint now) const {
  Delay d;
  d.value = attempt_delay;
  d.unclamped = attempt_delay;
  switch (config.attempt_delay_policy.kind) {
    case AttemptDelayPolicy::Kind::fixed: d.source = Delay::Source::fixed; break;
    case AttemptDelayPolicy::Kind::schedule: {
      d.source = Delay::Source::schedule;
      d.step = static_cast<int>(attempts.size());
      double m = std::max(config.attempt_delay_policy.multiplier, 0.0);
      // Bounded before the conversion: a long schedule must not overflow.
      double seconds = std::min(std::chrono::duration<double>(attempt_delay).count() * std::pow(m, d.step), 3600.0);
      d.unclamped = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
      d.value = std::clamp<Duration>(d.unclamped, kMinAttemptDelay, kMaxAttemptDelay);
      break;
    }
    case AttemptDelayPolicy::Kind::rtt: {
      d.source = Delay::Source::no_evidence;
      if (history == nullptr) break;
      if (auto e = history->rtt_evidence(address, now)) {
        d.source = Delay::Source::rtt;
        d.unclamped = e->rto;
        d.value = std::clamp<Duration>(e->rto, kRecommendedMinAttemptDelay, kMaxAttemptDelay);
        d.evidence = std::move(e);
      }
      break;
    }
  }
  return d;
}

// Nothing left to try and nothing left to come.
bool Race::State::exhausted() const {
  bool dns_done = dns[0] != Dns::waiting && dns[1] != Dns::waiting;
  return dns_done && candidates.empty() && held.empty() && pending_count() == 0;
}

// Ask for one wake-up at the earliest deadline that matters now.
void Race::State::rearm(TimePoint now) {
  std::optional<TimePoint> want = timeout_deadline();
  auto consider = [&](TimePoint t) {
    if (t > now && (!want || t < *want)) want = t;
  };
  if (!racing && resolution_deadline) consider(*resolution_deadline);
  if (racing && !candidates.empty()) consider(next_start);
  if (!held.empty())
    if (auto at = last_resort_due()) consider(*at);
  if (config.attempt_timeout > Duration::zero())
    for (const auto& a : attempts)
      if (a.state == AttemptState::pending) consider(a.started + config.attempt_timeout);
  if (want && want != armed) {
    armed = want;
    actions.emplace_back(ArmTimer{*want});
  }
}

// ---------------------------------------------------------------- endings

// The first attempt to connect wins; every other pending attempt is cancelled
// at once. One that had already had its Connection Attempt Delay is slow or
// black-holed: the history remembers it as a failure.
void Race::State::win(TimePoint now) {
  const Attempt& w = attempts[*winner - 1];
  for (auto& a : attempts) {
    if (a.id == w.id || (a.state != AttemptState::pending && a.state != AttemptState::connected)) continue;
    bool slow = a.state == AttemptState::pending && now - a.started >= a.delay;
    a.state = AttemptState::cancelled;
    if (slow) remember(a.address, History::Update::failure, {}, now);
    actions.emplace_back(CancelAttempt{a.id});
    note_attempt(now, event::attempt_cancelled, a, [&] {
      return fmt::format("lost to {} after {} ms{}", w.address.to_string(), to_ms(now - a.started),
                         slow ? "; remembered as failed" : "");
    });
  }
  finish(w.id, {});
}

void Race::State::cancel(TimePoint now) {
  note(now, event::cancelled, std::nullopt, std::nullopt, [] { return "cancelled by the caller"; });
  cancel_pending(now, "cancelled by the caller");
  finish(std::nullopt, std::make_error_code(std::errc::operation_canceled));
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
    if (a.state != AttemptState::pending && a.state != AttemptState::connected) continue;
    a.state = AttemptState::cancelled;
    actions.emplace_back(CancelAttempt{a.id});
    note_attempt(now, event::attempt_cancelled, a, [&] { return std::string(why); });
  }
}

void Race::State::finish(std::optional<AttemptId> winner_id, std::error_code error) {
  finished = true;
  candidates.clear();
  actions.emplace_back(Finish{winner_id, error});
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

Race::Race(Config config, Orderer order, const History* history, Trace* trace, TimePoint start)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.config = std::move(config);
  s.order = std::move(order);
  s.history = history;
  s.trace = trace;
  s.start = start;
  // Room for a typical dial's actions (start, remember, finish) at once; the
  // buffer then goes back and forth with the caller's (take_actions).
  s.actions.reserve(4);
  // RFC 8305 section 5: clamp the Connection Attempt Delay; below the
  // recommended 100 ms minimum is allowed but worth a warning.
  const Duration configured = s.config.attempt_delay;
  s.attempt_delay = std::clamp<Duration>(configured, kMinAttemptDelay, kMaxAttemptDelay);
  if (s.attempt_delay != configured)
    s.note(start, event::warning, std::nullopt, std::nullopt, [&] {
      return fmt::format("connection attempt delay {} ms clamped to {} ms", to_ms(configured), to_ms(s.attempt_delay));
    });
  if (s.attempt_delay < kRecommendedMinAttemptDelay)
    s.note(start, event::warning, std::nullopt, std::nullopt, [&] {
      return fmt::format("connection attempt delay {} ms is below the recommended 100 ms", to_ms(s.attempt_delay));
    });
  // A family that will not be asked for is never waited for.
  for (Family f : {Family::v6, Family::v4})
    if (!s.config.expected.contains(f)) s.dns[index(f)] = Dns::not_expected;
}

Race::~Race() = default;
Race::Race(Race&&) noexcept = default;
Race& Race::operator=(Race&&) noexcept = default;

void Race::on_answer(TimePoint now, Family family, std::vector<IpAddress> addresses, AnswerOrigin origin) {
  state_->answer(now, family, std::move(addresses), std::move(origin));
}
void Race::on_answer_error(TimePoint now, Family family, std::error_code error, AnswerOrigin origin) {
  state_->answer_error(now, family, error, std::move(origin));
}
void Race::on_connected(TimePoint now, AttemptId id) { state_->connected(now, id); }
void Race::on_failed(TimePoint now, AttemptId id, std::error_code error) { state_->failed(now, id, error); }
void Race::on_timer(TimePoint now) {
  if (state_->armed && now >= *state_->armed) state_->armed.reset();
}
void Race::cancel(TimePoint) {
  if (!state_->finished) state_->cancel_requested = true;
}

void Race::take_actions(TimePoint now, std::vector<Action>& into) {
  state_->step(now);
  into.clear();
  std::swap(into, state_->actions);
}

std::vector<Action> Race::take_actions(TimePoint now) {
  std::vector<Action> out;
  take_actions(now, out);
  return out;
}

bool Race::finished() const noexcept { return state_->finished; }
TimePoint Race::start() const noexcept { return state_->start; }
const std::vector<AttemptFailure>& Race::failures() const noexcept { return state_->failures; }

const IpAddress& Race::address_of(AttemptId id) const {
  if (id == 0 || id > state_->attempts.size()) throw std::out_of_range("heyes::race: unknown attempt id");
  return state_->attempts[id - 1].address;
}

std::error_code Race::dns_error(Family family) const noexcept { return state_->dns_errors[index(family)]; }
Duration Race::attempt_delay() const noexcept { return state_->attempt_delay; }

}  // namespace heyes::race
