// SPDX-License-Identifier: MIT
// The race's timings with RFC 8305 section 8 defaults, written once: DialOptions and race::Config are both Timings.
#pragma once

#include <chrono>

namespace heyes {

// How the Connection Attempt Delay is chosen (RFC 8305 section 5; Happy
// Eyeballs v3 section 6). Every delay is clamped to [10 ms, 2 s]; below the
// recommended 100 ms is allowed and traced as a warning.
struct AttemptDelayPolicy {
  enum class Kind {
    fixed,     // always Timings::attempt_delay
    rtt,       // the started path's retransmission timeout when the history has RTT samples for the
               // destination or its network (clamped to [100 ms, 2 s]); else Timings::attempt_delay
    schedule,  // attempt_delay, then each delay multiplier times the one before
  };
  Kind kind = Kind::rtt;
  double multiplier = 1.0;  // schedule only

  static constexpr AttemptDelayPolicy fixed() { return {Kind::fixed, 1.0}; }
  static constexpr AttemptDelayPolicy rtt() { return {Kind::rtt, 1.0}; }
  // With attempt_delay 50 ms and multiplier 2: attempts start at 0, 50, 150, 350, 750 ms.
  static constexpr AttemptDelayPolicy schedule(double multiplier) { return {Kind::schedule, multiplier}; }
};

struct Timings {
  // RFC 8305 section 3: after an A answer, wait this long for the AAAA answer.
  std::chrono::milliseconds resolution_delay{50};
  // RFC 8305 section 4: addresses of the preferred family tried before alternating.
  int first_family_count = 1;
  // RFC 8305 section 5: the Connection Attempt Delay (the fixed delay, the
  // RTT policy's delay without evidence, or the schedule's first delay).
  std::chrono::milliseconds attempt_delay{250};
  AttemptDelayPolicy attempt_delay_policy = AttemptDelayPolicy::rtt();
  // Attempts in flight at once. When the next attempt is due at the cap, the
  // oldest pending attempt is abandoned (a failure of its own) to make room.
  int max_in_flight = 6;
  // Per-attempt limit from its start; 0 = none (the kernel's SYN retries).
  std::chrono::milliseconds attempt_timeout{0};
  // Overall limit from the start of the dial (DNS included); 0 = none.
  std::chrono::milliseconds timeout{0};
  // RFC 8305 sections 7.2 and 8, the Last Resort Local Synthesis Delay: on
  // a NAT64 network, while the name has native IPv6 addresses, addresses
  // synthesized from A records wait until this long after the last native
  // IPv6 attempt started (or until every other address has failed).
  std::chrono::milliseconds last_resort_delay{2000};
};

}  // namespace heyes
