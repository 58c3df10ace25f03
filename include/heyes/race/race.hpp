// SPDX-License-Identifier: MIT
// The RFC 8305 connection race as a pure state machine: events with a time in, actions out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <variant>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/race/history.hpp"
#include "heyes/trace.hpp"

namespace heyes::race {

// RFC 8305 section 8 defaults.
struct Config {
  std::chrono::milliseconds resolution_delay{50};
  std::chrono::milliseconds attempt_delay{250};  // clamped to [10 ms, 2 s]; below 100 ms is traced as a warning
  int first_family_count = 1;
  int max_in_flight = 6;                         // attempts pending at once; at the cap, wait for one to end
  std::chrono::milliseconds timeout{0};          // overall, from the start; 0 = none
  bool expect_v6 = true;                         // an AAAA answer (or error) will come
  bool expect_v4 = true;                         // an A answer (or error) will come
  bool attempt_delay_from_history = true;        // 2 x smoothed RTT of the destination, clamped to [100 ms, 2 s]
  // True when the address policy ranks IPv4 above every one of these IPv6
  // addresses (say 6to4 under the RFC 6724 table, or a gai.conf that prefers
  // IPv4). Then an AAAA answer that comes first waits the Resolution Delay for
  // A, as RFC 8305 section 3 has an A answer wait for AAAA. Empty: never.
  std::function<bool(const std::vector<IpAddress>& v6)> v4_outranks;
};

// Orders the addresses not yet attempted: RFC 6724 sort plus RFC 8305 section
// 4 interleaving (with the history rule). Called again whenever an answer
// arrives, with every not-yet-attempted address, old and new.
using Orderer = std::function<std::vector<IpAddress>(std::vector<IpAddress> candidates)>;

using AttemptId = std::uint32_t;

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
struct Finish {  // the race is over; nothing else will be asked
  std::optional<AttemptId> winner;  // set on success
  std::error_code error;            // heyes::errc::{all_attempts_failed, no_address, timed_out, ...} or operation_aborted
};
using Action = std::variant<StartAttempt, CancelAttempt, ArmTimer, Finish>;

// Why one address failed; the whole list is the error's detail.
struct AttemptFailure {
  IpAddress address;
  std::error_code error;
};

class Race {
 public:
  // history and trace may be null. Trace times are relative to start.
  // The constructor may already queue actions (the overall timeout's
  // ArmTimer, or Finish when no family is expected): take them first.
  Race(Config config, Orderer order, History* history, Trace* trace, TimePoint start);

  // Inputs. Each may queue actions; call take_actions() after each.
  void on_answer(TimePoint now, Family family, std::vector<IpAddress> addresses);
  void on_answer_error(TimePoint now, Family family, std::error_code error);
  // Both families at the same instant (a cache hit, /etc/hosts): sorted together.
  void on_answers(TimePoint now, std::vector<IpAddress> v6, std::vector<IpAddress> v4);
  void on_connected(TimePoint now, AttemptId id);
  void on_failed(TimePoint now, AttemptId id, std::error_code error);
  void on_timer(TimePoint now);
  void cancel(TimePoint now);  // finishes with asio's operation_aborted value (ECANCELED)

  std::vector<Action> take_actions();
  // The same into a caller's vector (cleared first), whose buffer the race
  // keeps for the next actions: no allocation per event once warm.
  void take_actions(std::vector<Action>& into);

  bool finished() const noexcept;
  // Per-address causes, in the order the failures happened.
  const std::vector<AttemptFailure>& failures() const noexcept;
  // The address of an attempt (for the shell's bookkeeping and messages).
  // Throws std::out_of_range for an id this race never gave.
  const IpAddress& address_of(AttemptId id) const;
  // The DNS error of one family (on_answer_error), empty when none came.
  std::error_code dns_error(Family family) const noexcept;
  // The Connection Attempt Delay in use after clamping to [10 ms, 2 s].
  Duration attempt_delay() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;  // the implementation may replace this with plain members
};

}  // namespace heyes::race
