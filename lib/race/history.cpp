// SPDX-License-Identifier: MIT
// Connection history: RTT (SRTT, RTTVAR) and recent failures per destination, RTT per network, LRU-bounded, one mutex.
#include "heyes/race/history.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../common/lru_map.hpp"

namespace heyes::race {
namespace {

// The two halves of the 16 bytes and the zone, each mixed by a
// multiply-xorshift step (a byte-wise FNV-1a was 2% of a dial).
struct AddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept {
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
};

// The network a destination belongs to: IPv6 /64 (the zone kept: a
// link-local /64 is one per interface), IPv4 /24.
IpAddress network_of(const IpAddress& a, int& prefix_length) noexcept {
  auto bytes = a.bytes();
  if (a.is_v4()) {
    prefix_length = 24;
    return IpAddress::v4({bytes[12], bytes[13], bytes[14], 0});
  }
  prefix_length = 64;
  std::fill(bytes.begin() + 8, bytes.end(), std::uint8_t{0});
  return IpAddress::v6(bytes, a.scope_id());
}

// RFC 6298 section 2.4: G, the clock granularity in RTO = SRTT + max(G, K x RTTVAR).
constexpr Duration kGranularity = std::chrono::milliseconds(1);
// A sample count saturates here (it only says "many").
constexpr int kMaxSamples = 1'000'000;

}  // namespace

struct History::Tables {
  explicit Tables(std::size_t cap) : destinations(cap), networks(cap) {}

  struct Destination {
    Rtt rtt;
    std::optional<TimePoint> failed_at;
  };
  // A network's RTT, and its last failure when no attempt into it has
  // succeeded since (a black-holed /64 is black-holed for its other addresses too).
  struct Network {
    Rtt rtt;
    std::optional<TimePoint> failed_at;
  };
  common::detail::LruMap<IpAddress, Destination, AddressHash> destinations;
  common::detail::LruMap<IpAddress, Network, AddressHash> networks;  // keyed by network_of()
};

TimePoint History::Record::last_used() const noexcept {
  TimePoint t = srtt ? rtt_at : TimePoint::min();
  return failed_at && *failed_at > t ? *failed_at : t;
}

History::History() : History(Options{}) {}

History::History(Options options) : options_(options) {
  if (options_.max_entries == 0) options_.max_entries = 1;
  tables_ = std::make_unique<Tables>(options_.max_entries);
}

History::~History() = default;

// RFC 6298 section 2: the first measurement R sets SRTT = R, RTTVAR = R/2;
// each later R' sets RTTVAR <- (1 - beta) x RTTVAR + beta x |SRTT - R'| with
// beta = 1/4, then SRTT <- (1 - alpha) x SRTT + alpha x R' with alpha = 1/8.
// An RTT not refreshed within expiry counts as no measurement.
void History::fold(Rtt& rtt, Duration sample, TimePoint now, Duration expiry) {
  bool fresh = rtt.samples > 0 && now - rtt.at < expiry;
  if (!fresh) {
    rtt.srtt = sample;
    rtt.rttvar = sample / 2;
    rtt.samples = 1;
  } else {
    Duration delta = rtt.srtt > sample ? rtt.srtt - sample : sample - rtt.srtt;
    rtt.rttvar = rtt.rttvar - rtt.rttvar / 4 + delta / 4;
    rtt.srtt = rtt.srtt - rtt.srtt / 8 + sample / 8;
    rtt.samples = std::min(rtt.samples + 1, kMaxSamples);
  }
  rtt.at = now;
}

void History::apply_locked(const Update& u) {
  auto& d = tables_->destinations.touch(u.destination);
  int length = 0;
  auto& n = tables_->networks.touch(network_of(u.destination, length));
  if (u.kind == Update::failure) {
    d.failed_at = u.at;
    n.failed_at = u.at;
    return;
  }
  Duration rtt = std::max(u.rtt, Duration::zero());
  fold(d.rtt, rtt, u.at, options_.rtt_expiry);
  d.failed_at.reset();
  fold(n.rtt, rtt, u.at, options_.rtt_expiry);
  n.failed_at.reset();
}

void History::apply(const Update& update) { apply(std::span<const Update>(&update, 1)); }

void History::apply(std::span<const Update> updates) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& u : updates) apply_locked(u);
  }
  if (observer_) observer_();
}

void History::record_success(const IpAddress& destination, Duration rtt, TimePoint now) {
  apply(Update{destination, Update::success, rtt, now});
}

void History::record_failure(const IpAddress& destination, TimePoint now) {
  apply(Update{destination, Update::failure, Duration::zero(), now});
}

std::optional<Duration> History::srtt_locked(const IpAddress& destination, TimePoint now) const {
  const auto* d = tables_->destinations.peek(destination);
  if (d == nullptr || d->rtt.samples == 0 || now - d->rtt.at >= options_.rtt_expiry) return std::nullopt;
  return d->rtt.srtt;
}

// A destination failed recently when it did itself, or when it has no
// outcome of its own and its network's last attempt failed recently.
bool History::failed_locked(const IpAddress& destination, TimePoint now) const {
  auto recent = [&](const std::optional<TimePoint>& t) {
    return t && now - *t < options_.failure_expiry && !(stale_until_ && *t <= *stale_until_);
  };
  if (const auto* d = tables_->destinations.peek(destination)) {
    if (recent(d->failed_at)) return true;
    if (d->rtt.samples > 0 && now - d->rtt.at < options_.rtt_expiry) return false;
  }
  int length = 0;
  const auto* n = tables_->networks.peek(network_of(destination, length));
  return n != nullptr && recent(n->failed_at);
}

std::optional<Duration> History::smoothed_rtt(const IpAddress& destination, TimePoint now) const {
  std::lock_guard lock(mutex_);
  return srtt_locked(destination, now);
}

bool History::recently_failed(const IpAddress& destination, TimePoint now) const {
  std::lock_guard lock(mutex_);
  return failed_locked(destination, now);
}

std::optional<History::RttEvidence> History::rtt_evidence(const IpAddress& destination, TimePoint now) const {
  auto evidence = [&](const Rtt& r, bool network, const IpAddress& prefix, int length) {
    return RttEvidence{r.srtt + std::max(kGranularity, 4 * r.rttvar), r.srtt, r.rttvar, r.samples, network, prefix,
                       length};
  };
  auto fresh = [&](const Rtt* r) { return r != nullptr && r->samples > 0 && now - r->at < options_.rtt_expiry; };
  int length = 0;
  IpAddress network = network_of(destination, length);
  std::lock_guard lock(mutex_);
  const auto* d = tables_->destinations.peek(destination);
  if (d != nullptr && fresh(&d->rtt)) return evidence(d->rtt, false, destination, destination.is_v4() ? 32 : 128);
  if (const auto* n = tables_->networks.peek(network); n != nullptr && fresh(&n->rtt))
    return evidence(n->rtt, true, network, length);
  return std::nullopt;
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

void History::mark_stale(TimePoint at) {
  std::lock_guard lock(mutex_);
  if (!stale_until_ || *stale_until_ < at) stale_until_ = at;
}

void History::clear() {
  std::lock_guard lock(mutex_);
  tables_->destinations.clear();
  tables_->networks.clear();
}

std::size_t History::size() const {
  std::lock_guard lock(mutex_);
  return tables_->destinations.size();
}

std::vector<History::Record> History::records(TimePoint now) const {
  std::vector<Record> out;
  std::lock_guard lock(mutex_);
  out.reserve(tables_->destinations.size());
  tables_->destinations.for_each([&](const IpAddress& a, const Tables::Destination& d) {
    Record r{a, std::nullopt, {}, 0, {}, std::nullopt};
    if (d.rtt.samples > 0 && now - d.rtt.at < options_.rtt_expiry) {
      r.srtt = d.rtt.srtt;
      r.rttvar = d.rtt.rttvar;
      r.samples = d.rtt.samples;
      r.rtt_at = d.rtt.at;
    }
    if (d.failed_at && now - *d.failed_at < options_.failure_expiry) r.failed_at = d.failed_at;
    if (r.srtt || r.failed_at) out.push_back(r);
  });
  return out;
}

void History::merge(std::span<const Record> records) {
  // Oldest first, so that the newest end up the most recently used.
  std::vector<const Record*> order;
  order.reserve(records.size());
  for (const auto& r : records)
    if (r.srtt || r.failed_at) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const Record* a, const Record* b) { return a->last_used() < b->last_used(); });
  std::lock_guard lock(mutex_);
  for (const Record* r : order) {
    if (const auto* kept = tables_->destinations.peek(r->destination)) {
      TimePoint kept_at = kept->rtt.samples > 0 ? kept->rtt.at : TimePoint::min();
      if (kept->failed_at && *kept->failed_at > kept_at) kept_at = *kept->failed_at;
      if (kept_at >= r->last_used()) continue;
    }
    auto& d = tables_->destinations.touch(r->destination);
    d.rtt = r->srtt ? Rtt{*r->srtt, r->rttvar, std::clamp(r->samples, 1, kMaxSamples), r->rtt_at} : Rtt{};
    d.failed_at = r->failed_at;
    int length = 0;
    auto& n = tables_->networks.touch(network_of(r->destination, length));
    if (r->srtt && (n.rtt.samples == 0 || n.rtt.at < r->rtt_at)) n.rtt = d.rtt;
    // The network's last outcome: a failure newer than its last success.
    TimePoint last_success = n.rtt.samples > 0 ? n.rtt.at : TimePoint::min();
    if (r->failed_at && *r->failed_at > last_success && (!n.failed_at || *n.failed_at < *r->failed_at))
      n.failed_at = r->failed_at;
    if (n.failed_at && *n.failed_at < last_success) n.failed_at.reset();
  }
}

void History::set_observer(std::function<void()> observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

}  // namespace heyes::race
