// SPDX-License-Identifier: MIT
// Benchmark harness: stopwatch (wall and thread CPU), medians, the results table, socket disposal.
#pragma once

#include <time.h>

#include <algorithm>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace heyes::bench {

// Wall time and the CPU time of the calling thread (the one running the
// client's io_context; the listener's thread is not counted).
class Stopwatch {
 public:
  Stopwatch() { reset(); }
  void reset() {
    wall_start_ = std::chrono::steady_clock::now();
    cpu_start_ = thread_cpu();
  }
  double wall_us() const {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall_start_).count();
  }
  double cpu_us() const { return thread_cpu() - cpu_start_; }

 private:
  static double thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  }
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_ = 0;
};

// Cost of one operation, averaged over one run of many.
struct Sample {
  double wall_us = 0;
  double cpu_us = 0;
  int failures = 0;
};

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Median wall and CPU over repetitions; failures summed.
inline Sample median_sample(const std::vector<Sample>& runs) {
  std::vector<double> wall, cpu;
  Sample out;
  for (const auto& s : runs) {
    wall.push_back(s.wall_us);
    cpu.push_back(s.cpu_us);
    out.failures += s.failures;
  }
  out.wall_us = median(wall);
  out.cpu_us = median(cpu);
  return out;
}

// Closes a connected socket with a reset (SO_LINGER 0), as both sides of
// every comparison do: no TIME_WAIT, so 20,000 connects in a row do not run
// out of ephemeral ports.
inline void discard(asio::ip::tcp::socket& s) {
  if (!s.is_open()) return;
  std::error_code ignored;
  s.set_option(asio::socket_base::linger(true, 0), ignored);
  s.close(ignored);
}

// One line of the results table. A row with a ratio compares heyes with a
// baseline; a row with only a limit compares heyes' value with the target.
struct Row {
  std::string what;
  std::string heyes;
  std::string baseline;
  std::optional<double> ratio;
  std::string target;
  std::optional<bool> pass;  // empty: reported, not targeted
  // A timed ratio's limit (0: the row is not a timed ratio): its verdict is
  // weighed against the run's noise floor (judge_against_noise).
  double limit = 0;
  bool within_noise = false;  // the ratio is too close to the limit for this run's noise to tell
};

// Timed ratios judged against noise, the spread plain asio shows against
// itself in the same run (a factor >= 1, from the noise floor's ratio r:
// max(r, 1/r)). PASS: the ratio is at most limit / noise; MISS: above
// limit * noise, or a connect failed; in between: "within noise", neither.
void judge_against_noise(std::vector<Row>& rows, double noise);

void print_table(const std::vector<Row>& rows);

}  // namespace heyes::bench
