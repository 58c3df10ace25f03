// SPDX-License-Identifier: MIT
// Fuzz target: history file text; what parses must format and parse back the same, and load and merge cleanly.
#include "fuzz_support.hpp"
#include "race/history_file.hpp"

namespace {

using heyes::fuzz::require;
namespace hd = heyes::race::detail;

constexpr std::size_t kMaxEntries = 64;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  std::vector<hd::HistoryFileEntry> entries;
  try {
    entries = hd::parse_history_file(text, "fuzz.history", kMaxEntries);
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 0, "errors name a line (or 0: the whole file)");
    require(!e.diagnostic().message.empty(), "errors say what is wrong");
    require(static_cast<std::size_t>(e.diagnostic().line) <= kMaxEntries + 17, "the line named is within the bound");
    return 0;
  }
  require(entries.size() <= kMaxEntries, "entries are bounded");
  auto again = hd::parse_history_file(hd::format_history_file(entries), "fuzz.history", kMaxEntries);
  require(again == entries, "format then parse gives the entries back");

  // Into a History and out again, at a fixed instant: no crash, nothing grows.
  heyes::race::History::Options options;
  options.max_entries = kMaxEntries / 2;
  const hd::ClockPair now{heyes::race::TimePoint{} + std::chrono::hours(1), 1'800'000'000'000};
  auto records = hd::from_file_entries(entries, now, options);
  heyes::race::History history(options);
  history.merge(records);
  require(history.size() <= options.max_entries, "the History keeps its bound");
  auto saved = hd::to_file_entries(history.records(now.steady), now);
  auto merged = hd::merge_history_entries(entries, saved, now.wall_ms, options);
  require(merged.size() <= options.max_entries, "a save keeps the bound");
  auto reparsed = hd::parse_history_file(hd::format_history_file(merged), "fuzz.history", kMaxEntries);
  require(reparsed == merged, "what a save writes parses back");
  return 0;
}
