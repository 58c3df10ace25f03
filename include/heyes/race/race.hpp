// SPDX-License-Identifier: MIT
// The RFC 8305 connection race as a pure state machine: events with a time in, actions out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/error.hpp"
#include "heyes/race/history.hpp"
#include "heyes/timings.hpp"
#include "heyes/trace.hpp"

namespace heyes::race {

// The timings (RFC 8305 section 8 defaults) and what the dial knows up front.
struct Config : Timings {
  // The families whose answer (or error) will come; the others are never waited for.
  FamilySet expected = FamilySet::both();
  // True when the address policy ranks IPv4 above every one of these IPv6
  // addresses (say 6to4 under the RFC 6724 table, or a gai.conf that prefers
  // IPv4). Then an AAAA answer that comes first waits the Resolution Delay for
  // A, as RFC 8305 section 3 has an A answer wait for AAAA. Empty: never.
  std::function<bool(const std::vector<IpAddress>& v6)> v4_outranks;
  // NAT64 (RFC 8305 section 7): true for an IPv6 address that stands for an
  // IPv4 one (inside a NAT64 prefix, synthesized by heyes or by a DNS64).
  // Such an address counts as IPv4 in the family alternation; while the name
  // has a native IPv6 address, the translated ones are the last resort
  // (section 7.2): held until last_resort_delay after the last native IPv6
  // attempt started, or until every other address has failed. Empty: no address is translated.
  std::function<bool(const IpAddress&)> translated;
};

// Orders the addresses not yet attempted (the one ordering pipeline,
// heyes/select/order.hpp, in a dial). continue_after: the family of the last
// attempt started, once attempts have begun, so the order continues the
// family alternation. now: the instant of the decision (for the history's
// view of each address). Called again whenever an answer adds addresses.
using Orderer = std::function<std::vector<IpAddress>(std::vector<IpAddress> candidates,
                                                     std::optional<Family> continue_after, TimePoint now)>;

using AttemptId = std::uint32_t;

// Where an answer (or an answer's error) came from, for the trace: the
// race decides nothing from it. source: one of heyes::answer_source
// ("literal", "hosts", "cache", "dns", "given", ...). For a DNS error, rcode
// and server: the response code of the last server that answered with an
// error ("SERVFAIL") and that server ("127.0.0.1:5353"); empty otherwise.
struct AnswerOrigin {
  std::string source;
  std::string rcode{};
  std::string server{};
};

struct StartAttempt {
  AttemptId id;
  IpAddress address;
};
struct CancelAttempt {  // close the socket of a pending attempt
  AttemptId id;
};
struct ArmTimer {  // (re)arm the one timer: call on_timer at deadline; replaces any earlier deadline
  TimePoint deadline;
};
struct Remember {  // apply to the connection history (an output: the race never writes it)
  History::Update update;
};
struct Finish {  // the race is over; nothing else will be asked
  std::optional<AttemptId> winner;  // set on success
  std::error_code error;            // heyes::errc::{all_attempts_failed, no_address, timed_out, ...} or operation_aborted
};
using Action = std::variant<StartAttempt, CancelAttempt, ArmTimer, Remember, Finish>;

class Race {
 public:
  // history (read for delays and waits; updates come out as Remember) and
  // trace may be null. Trace times are relative to start.
  Race(Config config, Orderer order, const History* history, Trace* trace, TimePoint start);
  ~Race();
  Race(Race&&) noexcept;
  Race& operator=(Race&&) noexcept;

  // Inputs: each records what happened at now. Nothing is decided until
  // take_actions, so inputs of one instant (both answers from a cache) are
  // decided together.
  void on_answer(TimePoint now, Family family, std::vector<IpAddress> addresses, AnswerOrigin origin = {});
  void on_answer_error(TimePoint now, Family family, std::error_code error, AnswerOrigin origin = {});
  void on_connected(TimePoint now, AttemptId id);
  void on_failed(TimePoint now, AttemptId id, std::error_code error);
  void on_timer(TimePoint now);
  void cancel(TimePoint now);  // finishes with asio's operation_aborted value (ECANCELED)

  // Output: decides at now and hands the actions over into a caller's
  // vector (cleared first), whose buffer the race keeps for the next ones:
  // a caller that takes until nothing comes back hands the capacity back.
  void take_actions(TimePoint now, std::vector<Action>& into);
  std::vector<Action> take_actions(TimePoint now);

  bool finished() const noexcept;
  TimePoint start() const noexcept;  // the race's time zero (the trace's times count from it)
  // Per-address causes, in the order the failures happened.
  const std::vector<AttemptFailure>& failures() const noexcept;
  // The address of an attempt (for the shell's bookkeeping and messages).
  // Throws std::out_of_range for an id this race never gave.
  const IpAddress& address_of(AttemptId id) const;
  // The DNS error of one family (on_answer_error), empty when none came.
  std::error_code dns_error(Family family) const noexcept;
  // The base Connection Attempt Delay after clamping to [10 ms, 2 s].
  Duration attempt_delay() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace heyes::race
