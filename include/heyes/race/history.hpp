// SPDX-License-Identifier: MIT
// Connection history: per-destination smoothed RTT and recent failures, with expiry. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "heyes/address.hpp"

namespace heyes::race {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

class History {
 public:
  struct Options {
    Duration rtt_expiry = std::chrono::minutes(10);     // forget an RTT not refreshed for this long
    Duration failure_expiry = std::chrono::minutes(2);  // a failure counts as recent for this long
    std::size_t max_entries = 4096;                     // oldest entries go first
  };

  History();
  explicit History(Options options);

  // What the race learnt from one attempt, applied by the shell.
  struct Update {
    IpAddress destination;
    enum Kind { success, failure } kind = failure;
    Duration rtt{};  // success only
    TimePoint at{};
  };
  void apply(const Update& update);

  // RTT evidence for a path (RFC 6298): the destination's own samples, else its network's.
  struct RttEvidence {
    Duration rto{};  // SRTT + max(G, 4 RTTVAR), not clamped
    Duration srtt{}, rttvar{};
    int samples = 0;
    bool network = false;  // true: from the destination's /64 (IPv6) or /24 (IPv4)
    IpAddress prefix;      // the network address when network, else the destination
    int prefix_length = 0;
  };
  std::optional<RttEvidence> rtt_evidence(const IpAddress& destination, TimePoint now) const;

  // Folds rtt into the smoothed RTT (RFC 6298 style, alpha 1/8) and clears
  // any recent failure: the address works now.
  void record_success(const IpAddress& destination, Duration rtt, TimePoint now);
  // A refusal, an unreachable error, or an attempt that was still pending after
  // at least one Connection Attempt Delay when another address won.
  void record_failure(const IpAddress& destination, TimePoint now);

  std::optional<Duration> smoothed_rtt(const IpAddress& destination, TimePoint now) const;
  bool recently_failed(const IpAddress& destination, TimePoint now) const;

  // The extra sorting rule between RFC 6724 rules 8 and 9: an address that has
  // not failed recently goes before one that has; then lower smoothed RTT
  // first (an address with no RTT after one with). Same sign convention as heyes::ExtraRule.
  int compare(const IpAddress& a, const IpAddress& b, TimePoint now) const;

  void clear();
  std::size_t size() const;  // destinations remembered (at most Options::max_entries)

 private:
  // One destination; lru points at its place in lru_ (most recently used first).
  struct Entry {
    std::optional<Duration> srtt;
    Duration rttvar{};
    int samples = 0;
    TimePoint rtt_updated{};
    std::optional<TimePoint> last_failure;
    std::list<IpAddress>::iterator lru;
  };
  struct Hash {
    std::size_t operator()(const IpAddress& a) const noexcept;
  };
  Entry& touch(const IpAddress& destination);  // find or insert, mark most recent, evict beyond max_entries
  std::optional<Duration> srtt_locked(const IpAddress& destination, TimePoint now) const;
  bool failed_locked(const IpAddress& destination, TimePoint now) const;

  Options options_;
  mutable std::mutex mutex_;
  std::list<IpAddress> lru_;
  std::unordered_map<IpAddress, Entry, Hash> entries_;
};

}  // namespace heyes::race
