// SPDX-License-Identifier: MIT
// The resolver cache: an LRU list indexed by (lower-case name, type), entries expire with their TTL.
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
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= now) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // now the most recently used
  CachedAnswer out = it->second->answer;
  out.ttl = std::chrono::ceil<std::chrono::seconds>(it->second->expires - now);
  return out;
}

void Cache::store(std::string_view name, RecordType type, CachedAnswer answer, Clock::time_point now) {
  if (capacity_ == 0 || answer.ttl.count() <= 0) return;
  std::string key;
  key_of(name, type, key);
  const auto expires = now + answer.ttl;
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front({key, std::move(answer), expires});
  index_.emplace(std::move(key), lru_.begin());
  // Evict the least recently used beyond the bound.
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void Cache::clear() {
  std::lock_guard lock(mu_);
  lru_.clear();
  index_.clear();
}

std::size_t Cache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace heyes::dns::detail
