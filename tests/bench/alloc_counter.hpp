// SPDX-License-Identifier: MIT
// Heap accounting for the benchmark: the program replaces the global operator new/delete.
#pragma once

#include <cstdint>

namespace heyes::bench {

// Totals since the start of the process, over every thread that is not
// excluded (the loopback listener's thread excludes itself).
struct AllocTotals {
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;
};

// Bytes allocated through operator new and not yet freed, by every thread
// (excluded or not), as malloc_usable_size counts them.
std::int64_t live_heap_bytes() noexcept;

AllocTotals alloc_totals() noexcept;

// Allocations made on the calling thread are not counted from now on.
void exclude_this_thread_from_alloc_count() noexcept;

}  // namespace heyes::bench
