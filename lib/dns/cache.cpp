// SPDX-License-Identifier: MIT
// The resolver cache: an LRU map keyed by (lower-case name, type), entries expire with their TTL.
#include "cache.hpp"

namespace heyes::dns::detail {

void Cache::key_of(std::string_view name, RecordType type, std::string& key) {
  key.clear();
  key.reserve(name.size() + 3);
  for (char c : name) key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (!key.empty() && key.back() == '.') key.pop_back();
  const auto t = static_cast<std::uint16_t>(type);
  key += '\0';
  key += static_cast<char>(t >> 8);
  key += static_cast<char>(t & 0xFF);
}

std::optional<CachedAnswer> Cache::find(std::string_view name, RecordType type, Clock::time_point now) {
  // A per-thread buffer: a cache hit allocates no key (every warm dial asks).
  thread_local std::string key;
  key_of(name, type, key);
  std::lock_guard lock(mu_);
  Entry* e = entries_.find(key);  // now the most recently used
  if (e == nullptr) return std::nullopt;
  if (e->expires <= now || (stale_until_ && e->stored <= *stale_until_)) {
    entries_.erase(key);
    return std::nullopt;
  }
  CachedAnswer out = e->answer;
  out.ttl = std::chrono::ceil<std::chrono::seconds>(e->expires - now);
  return out;
}

void Cache::store(std::string_view name, RecordType type, CachedAnswer answer, Clock::time_point now) {
  if (capacity_ == 0 || answer.ttl.count() <= 0) return;
  std::string key;
  key_of(name, type, key);
  const auto expires = now + answer.ttl;
  std::lock_guard lock(mu_);
  // Replaces any entry of the key; a new key beyond the bound evicts the least recently used.
  entries_.insert_or_assign(key, Entry{std::move(answer), expires, now});
}

void Cache::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

void Cache::mark_stale(Clock::time_point at) {
  std::lock_guard lock(mu_);
  if (!stale_until_ || *stale_until_ < at) stale_until_ = at;
}

std::size_t Cache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace heyes::dns::detail
