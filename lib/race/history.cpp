// SPDX-License-Identifier: MIT
// Connection history: smoothed RTT and recent failures per destination, LRU-bounded, behind one mutex.
#include "heyes/race/history.hpp"

#include <cstdint>
#include <algorithm>
#include <cstring>

namespace heyes::race {

History::History() : History(Options{}) {}

History::History(Options options) : options_(options) {
  if (options_.max_entries == 0) options_.max_entries = 1;
}

std::size_t History::Hash::operator()(const IpAddress& a) const noexcept {
  // The two halves of the 16 bytes and the zone, each mixed by a
  // multiply-xorshift step (a byte-wise FNV-1a was 2% of a dial).
  const auto& bytes = a.bytes();
  std::uint64_t hi = 0, lo = 0;
  std::memcpy(&hi, bytes.data(), 8);
  std::memcpy(&lo, bytes.data() + 8, 8);
  auto mix = [](std::uint64_t h, std::uint64_t v) {
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
  };
  return static_cast<std::size_t>(mix(mix(mix(0x243F6A8885A308D3ull, hi), lo), a.scope_id()));
}

History::Entry& History::touch(const IpAddress& destination) {
  auto it = entries_.find(destination);
  if (it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  // A new destination: evict the least recently used ones beyond the bound.
  while (entries_.size() >= options_.max_entries) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(destination);
  Entry& e = entries_[destination];
  e.lru = lru_.begin();
  return e;
}

void History::record_success(const IpAddress& destination, Duration rtt, TimePoint now) {
  if (rtt < Duration::zero()) rtt = Duration::zero();
  std::lock_guard lock(mutex_);
  Entry& e = touch(destination);
  // RFC 6298 section 2: SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8;
  // the first measurement (or the first after the old one expired) sets SRTT = R.
  bool fresh = e.srtt && now - e.rtt_updated < options_.rtt_expiry;
  if (fresh) {
    Duration diff = *e.srtt > rtt ? *e.srtt - rtt : rtt - *e.srtt;
    e.rttvar = e.rttvar - e.rttvar / 4 + diff / 4;
    ++e.samples;
  } else {
    e.rttvar = rtt / 2;
    e.samples = 1;
  }
  e.srtt = fresh ? *e.srtt - *e.srtt / 8 + rtt / 8 : rtt;
  e.rtt_updated = now;
  e.last_failure.reset();
}

void History::record_failure(const IpAddress& destination, TimePoint now) {
  std::lock_guard lock(mutex_);
  touch(destination).last_failure = now;
}

std::optional<Duration> History::srtt_locked(const IpAddress& destination, TimePoint now) const {
  auto it = entries_.find(destination);
  if (it == entries_.end() || !it->second.srtt) return std::nullopt;
  if (now - it->second.rtt_updated >= options_.rtt_expiry) return std::nullopt;
  return it->second.srtt;
}

bool History::failed_locked(const IpAddress& destination, TimePoint now) const {
  auto it = entries_.find(destination);
  if (it == entries_.end() || !it->second.last_failure) return false;
  return now - *it->second.last_failure < options_.failure_expiry;
}

std::optional<Duration> History::smoothed_rtt(const IpAddress& destination, TimePoint now) const {
  std::lock_guard lock(mutex_);
  return srtt_locked(destination, now);
}

bool History::recently_failed(const IpAddress& destination, TimePoint now) const {
  std::lock_guard lock(mutex_);
  return failed_locked(destination, now);
}

int History::compare(const IpAddress& a, const IpAddress& b, TimePoint now) const {
  std::lock_guard lock(mutex_);
  // A recent failure sends an address after every address that has not failed.
  bool fa = failed_locked(a, now), fb = failed_locked(b, now);
  if (fa != fb) return fa ? 1 : -1;
  // Then lower smoothed RTT first; an address with no RTT after one with.
  auto ra = srtt_locked(a, now), rb = srtt_locked(b, now);
  if (ra && rb) return *ra < *rb ? -1 : (*rb < *ra ? 1 : 0);
  if (ra || rb) return ra ? -1 : 1;
  return 0;
}

void History::apply(const Update& u) {
  if (u.kind == Update::success) record_success(u.destination, u.rtt, u.at);
  else record_failure(u.destination, u.at);
}

std::optional<History::RttEvidence> History::rtt_evidence(const IpAddress& destination, TimePoint now) const {
  std::lock_guard lock(mutex_);
  auto srtt = srtt_locked(destination, now);
  if (!srtt) return std::nullopt;
  const Entry& e = entries_.find(destination)->second;
  RttEvidence out;
  out.srtt = *srtt;
  out.rttvar = e.rttvar;
  out.rto = *srtt + std::max<Duration>(std::chrono::milliseconds(1), 4 * e.rttvar);
  out.samples = e.samples;
  out.prefix = destination;
  out.prefix_length = destination.is_v6() ? 128 : 32;
  return out;
}

void History::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
}

std::size_t History::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace heyes::race
