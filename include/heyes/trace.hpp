// SPDX-License-Identifier: MIT
// Trace: the timeline of one dial, with stable event names (also used by heyes-connect --json).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"

namespace heyes {

// Stable event names. Add new ones at the end; never rename.
namespace event {
inline constexpr std::string_view families_usable = "families_usable";  // which families this host can use, and why
inline constexpr std::string_view dns_query = "dns_query";              // a query sent (family, detail: name, server)
inline constexpr std::string_view dns_answer = "dns_answer";            // addresses of one family arrived
inline constexpr std::string_view dns_error = "dns_error";              // one family failed (detail: reason)
inline constexpr std::string_view sorted = "sorted";                    // the order of the not yet tried addresses
inline constexpr std::string_view resolution_delay = "resolution_delay";  // waiting for AAAA after A
inline constexpr std::string_view attempt_start = "attempt_start";
inline constexpr std::string_view attempt_failed = "attempt_failed";
inline constexpr std::string_view attempt_cancelled = "attempt_cancelled";
inline constexpr std::string_view connected = "connected";
inline constexpr std::string_view timed_out = "timed_out";
inline constexpr std::string_view cancelled = "cancelled";
inline constexpr std::string_view failed = "failed";                    // the whole dial failed
inline constexpr std::string_view warning = "warning";                  // a setting outside its recommended range
inline constexpr std::string_view attempt_delay = "attempt_delay";      // the delay after an attempt_start, and its evidence
inline constexpr std::string_view attempt_abandoned = "attempt_abandoned";  // closed at the in-flight cap or its own timeout
inline constexpr std::string_view dns_dropped = "dns_dropped";  // an undialable address left out of a DNS answer (detail: why)
}  // namespace event

struct TraceEvent {
  std::chrono::microseconds t{0};  // since the start of the dial
  std::string type;                // one of heyes::event
  std::optional<Family> family;
  std::optional<IpAddress> address;
  std::string detail;
};

class Trace {
 public:
  explicit Trace(bool enabled = true) : enabled_(enabled) {}

  bool enabled() const noexcept { return enabled_; }
  void add(TraceEvent e) {
    if (enabled_) events_.push_back(std::move(e));
  }
  const std::vector<TraceEvent>& events() const noexcept { return events_; }

 private:
  bool enabled_;
  std::vector<TraceEvent> events_;
};

}  // namespace heyes
