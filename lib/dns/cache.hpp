// SPDX-License-Identifier: MIT
// The resolver cache: (name, type) -> addresses or a negative answer, TTL-bounded, LRU-bounded (private).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../common/lru_map.hpp"
#include "heyes/address.hpp"
#include "message.hpp"

namespace heyes::dns::detail {

// One cached answer: addresses (positive) or an error (host_not_found /
// no_data, RFC 2308 negative caching).
struct CachedAnswer {
  std::vector<IpAddress> addresses;
  std::error_code error;
  std::string name;             // the final name (after CNAMEs)
  std::chrono::seconds ttl{0};  // on store: how long to keep; on find: what is left (rounded up)
};

// Thread-safe; time is passed in so tests can use a virtual clock. Entries
// with a TTL of 0 are not stored. At most capacity entries: storing one more
// evicts the least recently used.
class Cache {
 public:
  using Clock = heyes::Clock;
  explicit Cache(std::size_t capacity) : capacity_(capacity), entries_(capacity) {}

  std::optional<CachedAnswer> find(std::string_view name, RecordType type, Clock::time_point now);
  void store(std::string_view name, RecordType type, CachedAnswer answer, Clock::time_point now);
  void clear();
  // Entries stored up to at are stale: find() misses them, so they are asked
  // again (revalidated) and the fresh answer replaces them.
  void mark_stale(Clock::time_point at);
  std::size_t size() const;

 private:
  struct Entry {
    CachedAnswer answer;
    Clock::time_point expires;
    Clock::time_point stored;
  };
  // The lower-case name without its final dot, NUL, then the type: into.
  static void key_of(std::string_view name, RecordType type, std::string& into);

  std::size_t capacity_;
  mutable std::mutex mu_;
  heyes::common::detail::LruMap<std::string, Entry> entries_;  // by key_of()
  std::optional<Clock::time_point> stale_until_;               // mark_stale()
};

}  // namespace heyes::dns::detail
