// SPDX-License-Identifier: MIT
// The history file: a History saved across processes (text format, parser, merge, locked atomic save) (private).
#pragma once

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"
#include "heyes/race/history.hpp"

namespace heyes::race::detail {

// The first line of every history file; another number is another format.
inline constexpr std::string_view kHistoryMagic = "heyes-history";
inline constexpr int kHistoryVersion = 1;
// A line longer than this is hostile (the longest real one is about 120).
inline constexpr std::size_t kMaxHistoryLine = 256;

// One line of the file: an address, its RTT (or none) and its last failure
// (or none); times are wall-clock (Unix time in milliseconds), so they mean
// the same to every process.
struct HistoryFileEntry {
  IpAddress address;
  bool has_rtt = false;
  std::int64_t srtt_us = 0, rttvar_us = 0;
  int samples = 0;
  std::int64_t rtt_at_ms = 0;
  std::optional<std::int64_t> failed_at_ms;
  std::int64_t last_used_ms() const noexcept;  // the newer of the two times
  friend bool operator==(const HistoryFileEntry&, const HistoryFileEntry&) = default;
};

// Parses a whole file. Strict: the first bad line throws ParseError naming
// file:line and the field; so does a file that is empty, foreign, of another
// version, cut short (no end of line at the end), or longer than max_entries lines.
std::vector<HistoryFileEntry> parse_history_file(std::string_view text, std::string_view file_name,
                                                 std::size_t max_entries);
// The file text: the header, a comment naming the fields, one line per entry.
std::string format_history_file(std::span<const HistoryFileEntry> entries);

// The two clocks read at one instant: the file holds wall-clock times, the
// History steady-clock ones.
struct ClockPair {
  TimePoint steady;
  std::int64_t wall_ms;  // Unix time in milliseconds
  static ClockPair now();
};

// History records as file entries, and back. Loading drops what has expired
// (an RTT older than rtt_expiry, a failure older than failure_expiry) and
// takes a time in the future as now.
std::vector<HistoryFileEntry> to_file_entries(std::span<const History::Record> records, ClockPair now);
std::vector<History::Record> from_file_entries(std::span<const HistoryFileEntry> entries, ClockPair now,
                                               const History::Options& options);
// What a save writes: per address the entry used last (ties: ours), expired
// parts dropped, at most max_entries, most recently used first.
std::vector<HistoryFileEntry> merge_history_entries(std::span<const HistoryFileEntry> theirs,
                                                    std::span<const HistoryFileEntry> ours, std::int64_t now_ms,
                                                    const History::Options& options);

// A History bound to a file. The constructor loads it (a missing or bad file
// gives one diagnostic and an empty start; a bad one is rewritten on the next
// save) and observes the History: after an update, at most every save_interval,
// it has a saver thread (started on first need) save without waiting for the
// lock (skipped when another process holds it), so no dial waits for a disk.
// The destructor stops that thread and saves once more when something changed
// (waiting up to a second for the lock). Saving is lock file (flock), read,
// merge, write a temporary file, rename(). Nothing here throws into a dial or
// out of the destructor.
class HistoryFile {
 public:
  using Report = std::function<void(const Diagnostic&)>;
  static constexpr std::chrono::seconds kSaveInterval{5};

  // save_interval: the least time between two saves after updates; the
  // first may come that long after the load (a short-lived program writes
  // only when it ends).
  HistoryFile(std::string path, History& history, Report report, Duration save_interval = kSaveInterval);
  ~HistoryFile();
  HistoryFile(const HistoryFile&) = delete;
  HistoryFile& operator=(const HistoryFile&) = delete;

  // Saves now. wait: wait up to a second for another process's save to end
  // (else give up at once). False when nothing was written (busy, or an
  // error, reported once).
  bool save(bool wait);
  const std::string& path() const noexcept { return path_; }

 private:
  void load();
  void updated() noexcept;  // the History's observer
  void saver();             // the saver thread's loop
  bool save_locked(bool wait);
  void report(int line, std::string message);

  std::string path_;
  History& history_;
  Report report_;
  Duration save_interval_;
  std::mutex save_mutex_;                      // one save at a time in this process
  std::atomic<bool> dirty_{false};             // something to write
  std::atomic<std::int64_t> next_save_ns_{0};  // steady clock, since its epoch
  bool save_failed_ = false;                   // a save error was reported (once is enough)
  // The saver thread: woken by updated(), stopped by the destructor.
  std::mutex saver_mutex_;
  std::condition_variable saver_wake_;
  bool save_wanted_ = false, stopping_ = false;
  std::thread saver_thread_;
};

}  // namespace heyes::race::detail
