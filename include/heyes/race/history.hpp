// SPDX-License-Identifier: MIT
// Connection history: per-destination and per-network RTT (RFC 6298) and recent failures, with expiry. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "heyes/address.hpp"

namespace heyes::race {

using heyes::Clock;  // heyes/address.hpp: the one clock
using heyes::Duration;
using heyes::TimePoint;

class History {
 public:
  struct Options {
    Duration rtt_expiry = std::chrono::minutes(10);     // forget an RTT not refreshed for this long
    Duration failure_expiry = std::chrono::minutes(2);  // a failure counts as recent for this long
    std::size_t max_entries = 4096;                     // oldest entries go first (destinations; networks too)
  };

  // One outcome of an attempt, as the race reports it.
  struct Update {
    IpAddress destination;
    enum Kind { success, failure } kind = failure;
    Duration rtt{};  // success: from the attempt's start to its connection
    TimePoint at{};
  };

  // What the history knows of the path to a destination (RFC 6298 section 2).
  struct RttEvidence {
    Duration rto{};           // SRTT + max(G, 4 x RTTVAR), G = 1 ms; not clamped (the race clamps)
    Duration srtt{}, rttvar{};
    int samples = 0;          // measurements behind it
    bool network = false;     // false: the destination itself; true: its /64 (IPv6) or /24 (IPv4)
    IpAddress prefix;         // the network (host bits zeroed) when network, else the destination
    int prefix_length = 128;  // 64 or 24 for a network; 128 or 32 for a destination
  };

  // One destination as it is kept, for saving and loading (see race/history_file).
  struct Record {
    IpAddress destination;
    std::optional<Duration> srtt;  // with rttvar, samples and rtt_at; nullopt: no RTT
    Duration rttvar{};
    int samples = 0;
    TimePoint rtt_at{};
    std::optional<TimePoint> failed_at;
    TimePoint last_used() const noexcept;  // the newer of rtt_at and failed_at
  };

  History();
  explicit History(Options options);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Folds one outcome in. A success updates the destination's and its
  // network's SRTT and RTTVAR (RFC 6298 section 2: alpha 1/8, beta 1/4; the
  // first measurement, or the first after the old one expired, sets SRTT = R,
  // RTTVAR = R/2) and clears any recent failure: the address works now. A
  // failure is a refusal, an unreachable error, or an attempt that was still
  // pending after at least one Connection Attempt Delay when another won.
  void apply(const Update& update);
  void apply(std::span<const Update> updates);  // one lock for the batch
  void record_success(const IpAddress& destination, Duration rtt, TimePoint now);
  void record_failure(const IpAddress& destination, TimePoint now);

  std::optional<Duration> smoothed_rtt(const IpAddress& destination, TimePoint now) const;
  // The destination's own last outcome was a recent failure; or it has no
  // outcome of its own and the last attempt into its network (IPv6 /64, IPv4
  // /24) failed recently: one black-holed address condemns its untried neighbours.
  bool recently_failed(const IpAddress& destination, TimePoint now) const;
  // The destination's own evidence if it has a fresh RTT, else its network's
  // (IPv6 /64, IPv4 /24); nullopt when neither. One lock, no allocation.
  std::optional<RttEvidence> rtt_evidence(const IpAddress& destination, TimePoint now) const;

  // The extra sorting rule between RFC 6724 rules 8 and 9: an address that has
  // not failed recently goes before one that has; then lower smoothed RTT
  // first (an address with no RTT after one with). Same sign convention as heyes::ExtraRule.
  int compare(const IpAddress& a, const IpAddress& b, TimePoint now) const;

  // The network changed at `at` (an address or a route came or went): every
  // failure recorded up to then is stale, so recently_failed() and compare()
  // no longer count it (the path it failed on may be gone); RTTs stay, and
  // outcomes after `at` count as usual. The entries themselves are kept.
  void mark_stale(TimePoint at);

  void clear();
  std::size_t size() const;  // destinations remembered (at most Options::max_entries)
  const Options& options() const noexcept { return options_; }

  // What is still fresh at now (an RTT younger than rtt_expiry, a failure
  // younger than failure_expiry), most recently used first.
  std::vector<Record> records(TimePoint now) const;
  // Takes each record whose destination is unknown here or whose last_used()
  // is newer than what is kept; the network evidence of a taken RTT comes
  // with it when the network knows nothing newer. Records go in oldest first,
  // so the LRU order follows their age.
  void merge(std::span<const Record> records);

  // Called after every apply, outside the lock, on the applying thread (the
  // history file wakes its saver thread from there, at most every few
  // seconds). Set it before the history is shared; null removes it.
  void set_observer(std::function<void()> observer);

 private:
  struct Tables;
  struct Rtt {
    Duration srtt{}, rttvar{};
    int samples = 0;  // 0: none
    TimePoint at{};
  };
  static void fold(Rtt& rtt, Duration sample, TimePoint now, Duration expiry);
  void apply_locked(const Update& update);
  std::optional<Duration> srtt_locked(const IpAddress& destination, TimePoint now) const;
  bool failed_locked(const IpAddress& destination, TimePoint now) const;

  Options options_;
  mutable std::mutex mutex_;
  std::unique_ptr<Tables> tables_;  // the LRU maps (a private type)
  std::optional<TimePoint> stale_until_;  // failures at or before it are stale (mark_stale)
  std::function<void()> observer_;
};

// The documented home of a history file (docs/history.md):
// $XDG_CACHE_HOME/heyes/history, else $HOME/.cache/heyes/history; empty when
// neither variable holds an absolute path. Nothing is created here.
std::string default_history_file();

}  // namespace heyes::race
