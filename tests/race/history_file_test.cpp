// SPDX-License-Identifier: MIT
// The history file: format round trip, hostile files, expiry and cap, mode 0600, concurrent processes, the Dialer.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "race/history_file.hpp"

using namespace heyes;
using namespace heyes::race;
using namespace heyes::race::detail;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

// A directory of its own under $TMPDIR (or /tmp), removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp") + "/heyes-history-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const char* name = "history") const { return (path / name).string(); }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// The diagnostics a HistoryFile reports.
struct Reports {
  std::vector<Diagnostic> list;
  HistoryFile::Report sink() {
    return [this](const Diagnostic& d) { list.push_back(d); };
  }
};

constexpr std::int64_t kWall = 1'800'000'000'000;  // a wall-clock now, Unix ms
const TimePoint kSteady = TimePoint{} + 100h;
const ClockPair kNow{kSteady, kWall};

HistoryFileEntry rtt_entry(const char* address, std::int64_t srtt_us, std::int64_t rttvar_us, int samples,
                           std::int64_t at_ms) {
  HistoryFileEntry e;
  e.address = ip(address);
  e.has_rtt = true;
  e.srtt_us = srtt_us;
  e.rttvar_us = rttvar_us;
  e.samples = samples;
  e.rtt_at_ms = at_ms;
  return e;
}

HistoryFileEntry failure_entry(const char* address, std::int64_t at_ms) {
  HistoryFileEntry e;
  e.address = ip(address);
  e.failed_at_ms = at_ms;
  return e;
}

// The line and message of the ParseError of text (line -1 when it parses).
std::pair<int, std::string> parse_error(std::string_view text, std::size_t max_entries = 4096) {
  try {
    parse_history_file(text, "h", max_entries);
  } catch (const ParseError& e) {
    return {e.diagnostic().line, e.diagnostic().message};
  }
  return {-1, ""};
}

}  // namespace

TEST_CASE("history file: the text form, and parsing it gives the entries back") {
  auto both = rtt_entry("2001:db8::1", 12000, 6000, 3, kWall - 1000);
  both.failed_at_ms = kWall - 10;
  std::vector<HistoryFileEntry> entries{both, rtt_entry("192.0.2.1", 250, 125, 1, kWall),
                                        failure_entry("fe80::1%1", kWall - 5)};
  auto text = format_history_file(entries);
  CHECK(text ==
        "heyes-history 1\n"
        "# address srtt_us rttvar_us samples rtt_at_ms failed_at_ms (times: Unix ms; '-': none)\n"
        "2001:db8::1 12000 6000 3 1799999999000 1799999999990\n"
        "192.0.2.1 250 125 1 1800000000000 -\n"
        "fe80::1%1 - - 0 - 1799999999995\n");
  CHECK(parse_history_file(text, "h", 4096) == entries);
  CHECK(parse_history_file("heyes-history 1\n", "h", 4096).empty());
  CHECK(parse_history_file("heyes-history 1\n\n# a note\n192.0.2.9\t-  -\t0 - 5\n", "h", 4096).size() == 1);
}

TEST_CASE("history file: hostile text is refused naming the line and the field") {
  struct Row {
    std::string_view text;
    int line;
    const char* message;  // a part of it
  };
  // file text -> the line and the words of the error
  const std::string long_line = "heyes-history 1\n192.0.2.1 " + std::string(300, '1') + " 1 1 1 -\n";
  const Row rows[] = {
      {"", 0, "empty file"},
      {"heyes-history 1", 1, "cut short"},
      {"heyes-history 1\n192.0.2.1 1 1 1 1", 2, "cut short"},
      {"heyes-history 1\n192.0.2.1 1 1 1 1 -\n192.0.2.", 3, "cut short"},
      {"\x7f" "ELF\x02\x01\x01\n", 1, "not a heyes history file"},
      {"nameserver 192.0.2.1\n", 1, "not a heyes history file"},
      {"heyes-history\n", 1, "not a heyes history file"},
      {"heyes-history 2\n192.0.2.1 x y z\n", 1, "version 2 is newer"},
      {"heyes-history one\n", 1, "bad version 'one'"},
      {"heyes-history 1\r\n", 1, "bad version"},
      {"heyes-history 1\n192.0.2.1 1 1 1\n", 2, "4 fields, expected 6"},
      {"heyes-history 1\n192.0.2.1 1 1 1 1 - extra\n", 2, "more than 6 fields"},
      {"heyes-history 1\n192.0.2.256 1 1 1 1 -\n", 2, "field 1 (address)"},
      {"heyes-history 1\n[::1] 1 1 1 1 -\n", 2, "field 1 (address)"},
      {"heyes-history 1\n192.0.2.1 -1 1 1 1 -\n", 2, "field 2 (srtt_us)"},
      {"heyes-history 1\n192.0.2.1 3600000001 1 1 1 -\n", 2, "field 2 (srtt_us)"},
      {"heyes-history 1\n192.0.2.1 1 0x1 1 1 -\n", 2, "field 3 (rttvar_us)"},
      {"heyes-history 1\n192.0.2.1 1 1 1000001 1 -\n", 2, "field 4 (samples)"},
      {"heyes-history 1\n192.0.2.1 1 1 1 99999999999999999999 -\n", 2, "field 5 (rtt_at_ms)"},
      {"heyes-history 1\n192.0.2.1 - - 0 - 1\r\n", 2, "field 6 (failed_at_ms)"},
      {"heyes-history 1\n192.0.2.1 1 - 1 1 -\n", 2, "field 3 (rttvar_us)"},
      {"heyes-history 1\n192.0.2.1 1 1 0 1 -\n", 2, "field 4 (samples): expected at least 1"},
      {"heyes-history 1\n192.0.2.1 - - 1 - 5\n", 2, "field 4 (samples): expected 0"},
      {"heyes-history 1\n192.0.2.1 - - 0 - -\n", 2, "neither an RTT nor a failure"},
      {"heyes-history 1\n192.0.2.1 - - 0 - 5\n\n192.0.2.1 - - 0 - 6\n", 4, "on line 2"},
      {"heyes-history 1\n192.0.2.1 1 1 1 1 -\n\x00\x01\n"sv, 3, "1 fields"},
      {long_line, 2, "longer than 256 characters"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    auto [line, message] = parse_error(r.text);
    CHECK(line == r.line);
    CHECK(message.find(r.message) != std::string::npos);
  }
  // Too many entries, too many lines: the first one over the bound is named.
  std::string many = "heyes-history 1\n";
  for (int i = 1; i <= 4; ++i) many += "192.0.2." + std::to_string(i) + " - - 0 - 5\n";
  CHECK(parse_error(many, 3) == std::pair<int, std::string>{5, "more than 3 entries"});
  CHECK(parse_error("heyes-history 1\n" + std::string(100, '\n'), 3) ==
        std::pair<int, std::string>{20, "more than 19 lines"});
}

TEST_CASE("history file: wall-clock times become steady-clock ones; what expired is dropped, the future is now") {
  History::Options o;  // RTT 10 min, failures 2 min
  std::vector<HistoryFileEntry> entries{
      rtt_entry("192.0.2.1", 40'000, 20'000, 4, kWall - 60'000),  // a minute ago
      rtt_entry("192.0.2.2", 40'000, 20'000, 4, kWall - 600'000),  // expired
      failure_entry("192.0.2.3", kWall - 119'000),
      failure_entry("192.0.2.4", kWall - 120'000),                 // expired
      failure_entry("192.0.2.5", kWall + 3'600'000),               // an hour ahead: now
  };
  auto records = from_file_entries(entries, kNow, o);
  REQUIRE(records.size() == 3);
  CHECK(records[0].srtt == Duration(40ms));
  CHECK(records[0].rttvar == Duration(20ms));
  CHECK(records[0].samples == 4);
  CHECK(records[0].rtt_at == kSteady - 1min);
  CHECK(records[1].failed_at == kSteady - 119s);
  CHECK(records[2].failed_at == kSteady);
  // The extremes of the format: 1970 is long expired, the year 9999 is now.
  std::vector<HistoryFileEntry> extremes{failure_entry("192.0.2.6", 0), failure_entry("192.0.2.7", 253'402'300'799'999)};
  auto kept = from_file_entries(extremes, kNow, o);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].failed_at == kSteady);
  CHECK(merge_history_entries(extremes, {}, kWall, o) == std::vector<HistoryFileEntry>{extremes[1]});
  // And back: the same wall-clock times.
  auto back = to_file_entries(records, kNow);
  CHECK(back[0] == entries[0]);
  CHECK(back[1] == entries[2]);
  CHECK(back[2].failed_at_ms == kWall);
}

TEST_CASE("history file: a save merges per address the entry used last, drops what expired, keeps the newest") {
  History::Options o;
  o.max_entries = 3;
  std::vector<HistoryFileEntry> theirs{rtt_entry("192.0.2.1", 1000, 500, 1, kWall - 5000),
                                       rtt_entry("192.0.2.2", 2000, 1000, 1, kWall - 1000),
                                       failure_entry("192.0.2.3", kWall - 300'000),  // expired
                                       rtt_entry("192.0.2.4", 4000, 2000, 1, kWall - 30000)};
  std::vector<HistoryFileEntry> ours{rtt_entry("192.0.2.1", 9000, 500, 2, kWall - 100),  // newer: ours
                                     rtt_entry("192.0.2.2", 9000, 500, 2, kWall - 2000),  // older: theirs
                                     failure_entry("192.0.2.5", kWall - 20'000)};
  auto merged = merge_history_entries(theirs, ours, kWall, o);
  REQUIRE(merged.size() == 3);  // 192.0.2.4, the oldest, is beyond the cap
  CHECK(merged[0] == ours[0]);
  CHECK(merged[1] == theirs[1]);
  CHECK(merged[2] == ours[2]);
}

TEST_CASE("history file: saved by one History, loaded by the next with the same evidence") {
  TempDir dir;
  Reports reports;
  auto a = ip("2001:db8::1"), b = ip("192.0.2.1");
  {
    History h;
    HistoryFile file(dir.file(), h, reports.sink());
    CHECK(reports.list.size() == 1);  // no file yet
    h.record_success(a, 100ms, Clock::now());
    h.record_success(a, 200ms, Clock::now());
    h.record_failure(b, Clock::now());
    CHECK(file.save(true));
  }
  reports.list.clear();
  History h;
  HistoryFile file(dir.file(), h, reports.sink());
  CHECK(reports.list.empty());
  auto now = Clock::now();
  auto e = h.rtt_evidence(a, now);
  REQUIRE(e);
  CHECK(e->srtt == Duration(112500us));
  CHECK(e->rttvar == Duration(62500us));
  CHECK(e->samples == 2);
  CHECK(h.recently_failed(b, now));
  auto net = h.rtt_evidence(ip("2001:db8::2"), now);  // the network comes back with it
  REQUIRE(net);
  CHECK(net->network);
}

TEST_CASE("history file: updates save at most once per interval, the first an interval after the load") {
  TempDir dir;
  SUBCASE("within the interval: only when the HistoryFile goes") {
    {
      History h;
      HistoryFile file(dir.file(), h, nullptr);  // 5 s
      h.record_success(ip("192.0.2.1"), 5ms, Clock::now());
      h.record_success(ip("192.0.2.2"), 5ms, Clock::now());
      CHECK_FALSE(std::filesystem::exists(dir.file()));
    }
    CHECK(parse_history_file(read_text(dir.file()), "h", 10).size() == 2);
  }
  SUBCASE("interval over: the next update saves, the one after waits") {
    History h;
    HistoryFile file(dir.file(), h, nullptr, 1s);
    h.record_success(ip("192.0.2.1"), 5ms, Clock::now());
    CHECK_FALSE(std::filesystem::exists(dir.file()));
    std::this_thread::sleep_for(1050ms);
    h.record_success(ip("192.0.2.2"), 5ms, Clock::now());
    // Saved by the saver thread: wait for the file (bounded).
    for (int i = 0; i < 500 && !std::filesystem::exists(dir.file()); ++i) std::this_thread::sleep_for(10ms);
    auto first = read_text(dir.file());
    CHECK(parse_history_file(first, "h", 10).size() == 2);
    h.record_success(ip("192.0.2.3"), 5ms, Clock::now());
    CHECK(read_text(dir.file()) == first);
    CHECK(file.save(false));
    CHECK(parse_history_file(read_text(dir.file()), "h", 10).size() == 3);
  }
}

TEST_CASE("history file: created 0600 in a directory created 0700") {
  TempDir dir;
  auto path = (dir.path / "cache" / "heyes" / "history").string();
  {
    History h;
    HistoryFile file(path, h, nullptr);
    h.record_failure(ip("192.0.2.1"), Clock::now());
  }
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir.path / "cache" / "heyes").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((dir.path / "cache").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  // An existing file of a looser mode is replaced by one of mode 0600.
  ::chmod(path.c_str(), 0644);
  {
    History h;
    HistoryFile file(path, h, nullptr);
    h.record_failure(ip("192.0.2.2"), Clock::now());
  }
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("history file: a bad file is ignored with one diagnostic naming the line, then rewritten") {
  struct Row {
    const char* what;
    std::string text;
    int line;
    const char* message;
  };
  // what is on disk -> the one diagnostic
  const Row rows[] = {
      {"truncated", "heyes-history 1\n192.0.2.1 1000 500 1 1", 2, "cut short"},
      {"garbage", "heyes-history 1\n\x01\x02\x03 garbage\n", 2, "fields"},
      {"foreign", "[Desktop Entry]\n", 1, "not a heyes history file"},
      {"newer", "heyes-history 7\nsomething new\n", 1, "version 7 is newer"},
      {"huge line", "heyes-history 1\n" + std::string(100'000, 'x') + "\n", 2, "longer than"},
      {"too many lines", "heyes-history 1\n" + std::string(5000, '\n'), 4113, "more than 4112 lines"},
      {"huge", std::string(2'000'000, 'x'), 0, "larger than"},
      {"empty", "", 0, "empty file"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    TempDir dir;
    write_text(dir.file(), r.text);
    Reports reports;
    {
      History h;
      HistoryFile file(dir.file(), h, reports.sink());
      CHECK(h.size() == 0);
    }
    REQUIRE(reports.list.size() == 1);
    CHECK(reports.list[0].file == dir.file());
    CHECK(reports.list[0].line == r.line);
    CHECK(reports.list[0].message.find(r.message) != std::string::npos);
    CHECK(reports.list[0].message.find("ignored") != std::string::npos);
    // Rewritten by the destructor's save: a valid, empty history.
    CHECK(read_text(dir.file()) == format_history_file({}));
  }
  // More entries than the History keeps: named at the first one too many.
  TempDir dir;
  std::string text = "heyes-history 1\n";
  for (int i = 1; i <= 3; ++i) text += "192.0.2." + std::to_string(i) + " - - 0 - 5\n";
  write_text(dir.file(), text);
  History::Options o;
  o.max_entries = 2;
  History h(o);
  Reports reports;
  HistoryFile file(dir.file(), h, reports.sink());
  REQUIRE(reports.list.size() == 1);
  CHECK(reports.list[0].to_string() == dir.file() + ":4: more than 2 entries; ignored, a new one is started");
}

TEST_CASE("history file: processes saving at once lose no entry and never leave a torn file") {
  // Each child adds its own addresses in rounds and saves after each; the
  // parent keeps reading the file meanwhile. Bounded: a few rounds each.
  constexpr int kChildren = 4, kRounds = 5, kPerRound = 20;
  for (std::size_t cap : {std::size_t{4096}, std::size_t{50}}) {
    CAPTURE(cap);
    TempDir dir;
    std::vector<pid_t> children;
    for (int c = 0; c < kChildren; ++c) {
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        int status = 0;
        {
          History::Options o;
          o.max_entries = cap;
          History h(o);
          HistoryFile file(dir.file(), h, nullptr);
          for (int round = 0; round < kRounds; ++round) {
            for (int i = 0; i < kPerRound; ++i)
              h.record_success(IpAddress::v4(0x0A000000u | (c << 16) | (round << 8) | i), 1ms, Clock::now());
            if (!file.save(true)) status = 1;
          }
        }
        ::_exit(status);
      }
      children.push_back(pid);
    }
    int reads = 0, torn = 0;
    for (int running = kChildren; running > 0;) {
      if (std::filesystem::exists(dir.file())) {
        ++reads;
        try {
          parse_history_file(read_text(dir.file()), "h", 4096);
        } catch (const ParseError&) {
          ++torn;
        }
      }
      running = 0;
      for (pid_t& pid : children) {
        if (pid == 0) continue;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == 0) {
          ++running;
          continue;
        }
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        pid = 0;
      }
    }
    CHECK(torn == 0);
    MESSAGE("reads while saving: " << reads);
    auto entries = parse_history_file(read_text(dir.file()), "h", 4096);
    CHECK(entries.size() == std::min<std::size_t>(cap, kChildren * kRounds * kPerRound));
  }
}

TEST_CASE("history file: the Dialer loads it when made and saves it when it goes") {
  TempDir dir;
  auto path = dir.file();
  {
    History h;
    HistoryFile file(path, h, nullptr);
    h.record_success(ip("192.0.2.1"), 30ms, Clock::now());
  }
  Reports reports;
  {
    DialerOptions o;
    o.history_file = path;
    o.history_file_diagnostics = reports.sink();
    Dialer dialer(o);
    REQUIRE(dialer.history() != nullptr);
    CHECK(dialer.history()->smoothed_rtt(ip("192.0.2.1"), Clock::now()) == Duration(30ms));
    dialer.history()->record_failure(ip("198.51.100.1"), Clock::now());
  }
  CHECK(reports.list.empty());
  CHECK(parse_history_file(read_text(path), "h", 10).size() == 2);
}

TEST_CASE("history file: the default place follows XDG_CACHE_HOME, else HOME") {
  auto saved = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  auto xdg = saved("XDG_CACHE_HOME"), home = saved("HOME");
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  ::setenv("HOME", "/home/u", 1);
  CHECK(default_history_file() == "/x/cache/heyes/history");
  ::setenv("XDG_CACHE_HOME", "relative", 1);  // not absolute: ignored
  CHECK(default_history_file() == "/home/u/.cache/heyes/history");
  ::unsetenv("XDG_CACHE_HOME");
  CHECK(default_history_file() == "/home/u/.cache/heyes/history");
  ::unsetenv("HOME");
  CHECK(default_history_file().empty());
  auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v) ::setenv(name, v->c_str(), 1);
    else ::unsetenv(name);
  };
  restore("XDG_CACHE_HOME", xdg);
  restore("HOME", home);
}
