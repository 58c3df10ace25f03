// SPDX-License-Identifier: MIT
// The one clock of heyes: steady time for deadlines, TTLs, cool-downs and caches.
#pragma once

#include <chrono>

namespace heyes {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

}  // namespace heyes
