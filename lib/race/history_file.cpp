// SPDX-License-Identifier: MIT
// The history file: strict parser of hostile text, merge by last use, flock + temporary file + rename().
#include "history_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

namespace heyes::race {

std::string default_history_file() {
  // XDG Base Directory: a relative $XDG_CACHE_HOME is invalid and ignored.
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/heyes/history";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/heyes/history";
  return {};
}

namespace detail {
namespace {

// Bounds of the numeric fields: an RTT of at most an hour, at most a million
// samples, times from 1970 to the year 9999.
constexpr std::int64_t kMaxRttUs = 3'600'000'000;
constexpr std::int64_t kMaxSamples = 1'000'000;
constexpr std::int64_t kMaxTimeMs = 253'402'300'799'999;
constexpr const char* kFieldNames[] = {"address", "srtt_us", "rttvar_us", "samples", "rtt_at_ms", "failed_at_ms"};
constexpr std::size_t kFields = std::size(kFieldNames);

// The input quoted for a message: at most 40 bytes, non-printable bytes as \xNN.
std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < 40; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  }
  return out + (text.size() > 40 ? "'..." : "'");
}

// Entries, the header and a few comments or blank lines.
std::size_t max_lines(std::size_t max_entries) { return max_entries + 16; }

// Parses one file, line by line; fail() throws naming the current line.
class Parser {
 public:
  Parser(std::string_view file, std::size_t max_entries) : file_(file), max_entries_(max_entries) {}

  std::vector<HistoryFileEntry> run(std::string_view text) {
    if (text.empty()) fail(0, "empty file");
    while (!text.empty()) {
      ++line_;
      auto nl = text.find('\n');
      if (nl == std::string_view::npos) fail(line_, "cut short (no end of line)");
      auto line = text.substr(0, nl);
      text.remove_prefix(nl + 1);
      if (static_cast<std::size_t>(line_) > max_lines(max_entries_))
        fail(line_, "more than " + std::to_string(max_lines(max_entries_)) + " lines");
      if (line.size() > kMaxHistoryLine)
        fail(line_, "longer than " + std::to_string(kMaxHistoryLine) + " characters");
      if (line_ == 1) header(line);
      else if (!line.empty() && line[0] != '#') entry(line);
    }
    return std::move(entries_);
  }

 private:
  [[noreturn]] void fail(int line, std::string message) const {
    throw ParseError(Diagnostic{std::string(file_), line, std::move(message)});
  }
  [[noreturn]] void fail_field(std::size_t field, std::string_view text, std::string_view expected) const {
    fail(line_, "field " + std::to_string(field + 1) + " (" + kFieldNames[field] + "): expected " +
                    std::string(expected) + ", got " + quote(text));
  }

  void header(std::string_view line) const {
    std::string_view magic = kHistoryMagic;
    if (line.substr(0, magic.size() + 1) != std::string(magic) + " ")
      fail(1, "not a heyes history file (the first line is not '" + std::string(magic) + " " +
                  std::to_string(kHistoryVersion) + "')");
    auto version = line.substr(magic.size() + 1);
    int v = 0;
    auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
    if (ec != std::errc{} || end != version.data() + version.size() || v < 1)
      fail(1, "bad version " + quote(version));
    if (v != kHistoryVersion)
      fail(1, "version " + std::to_string(v) + " is newer than this program's (" + std::to_string(kHistoryVersion) +
                  ")");
  }

  // '-' (nullopt) or a decimal integer in [0, max].
  std::optional<std::int64_t> number(std::size_t field, std::string_view text, std::int64_t max, bool dash_ok,
                                     std::string_view expected) const {
    if (dash_ok && text == "-") return std::nullopt;
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    bool digits = !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits || ec != std::errc{} || end != text.data() + text.size() || n < 0 || n > max)
      fail_field(field, text, expected);
    return n;
  }

  void entry(std::string_view line) {
    std::string_view f[kFields];
    std::size_t count = 0;
    for (std::size_t pos = 0; pos < line.size();) {
      pos = line.find_first_not_of(" \t", pos);
      if (pos == std::string_view::npos) break;
      auto end = std::min(line.find_first_of(" \t", pos), line.size());
      if (count == kFields) fail(line_, "more than " + std::to_string(kFields) + " fields");
      f[count++] = line.substr(pos, end - pos);
      pos = end;
    }
    if (count < kFields)
      fail(line_, std::to_string(count) + " fields, expected " + std::to_string(kFields) +
                      " (address srtt_us rttvar_us samples rtt_at_ms failed_at_ms)");
    if (entries_.size() >= max_entries_) fail(line_, "more than " + std::to_string(max_entries_) + " entries");

    HistoryFileEntry e;
    auto address = IpAddress::parse(f[0]);
    if (!address || f[0].front() == '[') fail_field(0, f[0], "an IP address");
    e.address = *address;
    auto srtt = number(1, f[1], kMaxRttUs, true, "microseconds up to 3600000000, or '-'");
    auto rttvar = number(2, f[2], kMaxRttUs, true, "microseconds up to 3600000000, or '-'");
    auto samples = *number(3, f[3], kMaxSamples, false, "a count up to 1000000");
    auto rtt_at = number(4, f[4], kMaxTimeMs, true, "Unix time in milliseconds, or '-'");
    e.failed_at_ms = number(5, f[5], kMaxTimeMs, true, "Unix time in milliseconds, or '-'");
    // An RTT is all four fields or none of them.
    e.has_rtt = srtt.has_value();
    if (rttvar.has_value() != e.has_rtt) fail_field(2, f[2], e.has_rtt ? "microseconds with an srtt" : "'-' without an srtt");
    if (rtt_at.has_value() != e.has_rtt) fail_field(4, f[4], e.has_rtt ? "a time with an srtt" : "'-' without an srtt");
    if ((samples > 0) != e.has_rtt) fail_field(3, f[3], e.has_rtt ? "at least 1 with an srtt" : "0 without an srtt");
    if (!e.has_rtt && !e.failed_at_ms) fail(line_, "neither an RTT nor a failure");
    if (e.has_rtt) {
      e.srtt_us = *srtt;
      e.rttvar_us = *rttvar;
      e.samples = static_cast<int>(samples);
      e.rtt_at_ms = *rtt_at;
    }
    if (auto [it, fresh] = seen_.try_emplace(e.address, line_); !fresh)
      fail_field(0, f[0], "an address not listed before (it is on line " + std::to_string(it->second) + ")");
    entries_.push_back(e);
  }

  std::string_view file_;
  std::size_t max_entries_;
  int line_ = 0;
  std::vector<HistoryFileEntry> entries_;
  std::map<IpAddress, int> seen_;  // address -> its line
};

std::string format_entry(const HistoryFileEntry& e) {
  auto opt = [](bool has, std::int64_t v) { return has ? std::to_string(v) : std::string("-"); };
  std::string line = e.address.to_string();
  for (const auto& field : {opt(e.has_rtt, e.srtt_us), opt(e.has_rtt, e.rttvar_us), std::to_string(e.samples),
                            opt(e.has_rtt, e.rtt_at_ms), opt(e.failed_at_ms.has_value(), e.failed_at_ms.value_or(0))}) {
    line += ' ';
    line += field;
  }
  return line + '\n';
}

std::int64_t to_us(Duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }
std::int64_t to_ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads at most max_bytes (truncated is set when there is more). nullopt
// with errno set when the file cannot be opened or read.
std::optional<std::string> read_bounded(const std::string& path, std::size_t max_bytes, bool& truncated) {
  truncated = false;
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (f.fd < 0) return std::nullopt;
  struct stat st{};
  if (::fstat(f.fd, &st) != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return std::nullopt;
  }
  std::string data;
  char buf[16384];
  while (data.size() <= max_bytes) {
    auto n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return data;
    data.append(buf, static_cast<std::size_t>(n));
  }
  truncated = true;
  data.resize(max_bytes);
  return data;
}

// Every line at its longest: a longer file cannot be one.
std::size_t max_file_bytes(std::size_t max_entries) { return max_lines(max_entries) * (kMaxHistoryLine + 1); }

// Creates the directories of path that do not exist yet, mode 0700 (the
// XDG cache directory's); false with errno set when one cannot be made.
bool make_parent_directories(const std::string& path) {
  for (auto slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return true;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::int64_t HistoryFileEntry::last_used_ms() const noexcept {
  std::int64_t t = has_rtt ? rtt_at_ms : -1;
  return failed_at_ms && *failed_at_ms > t ? *failed_at_ms : t;
}

std::vector<HistoryFileEntry> parse_history_file(std::string_view text, std::string_view file_name,
                                                 std::size_t max_entries) {
  return Parser(file_name, max_entries).run(text);
}

std::string format_history_file(std::span<const HistoryFileEntry> entries) {
  std::string out = std::string(kHistoryMagic) + " " + std::to_string(kHistoryVersion) + "\n";
  out += "# address srtt_us rttvar_us samples rtt_at_ms failed_at_ms (times: Unix ms; '-': none)\n";
  for (const auto& e : entries) out += format_entry(e);
  return out;
}

ClockPair ClockPair::now() {
  auto wall = std::chrono::system_clock::now().time_since_epoch();
  return {Clock::now(), std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()};
}

std::vector<HistoryFileEntry> to_file_entries(std::span<const History::Record> records, ClockPair now) {
  std::vector<HistoryFileEntry> out;
  out.reserve(records.size());
  auto wall = [&](TimePoint t) { return std::clamp(now.wall_ms + to_ms(t - now.steady), std::int64_t{0}, kMaxTimeMs); };
  for (const auto& r : records) {
    HistoryFileEntry e;
    e.address = r.destination;
    if (r.srtt) {
      e.has_rtt = true;
      e.srtt_us = std::clamp(to_us(*r.srtt), std::int64_t{0}, kMaxRttUs);
      e.rttvar_us = std::clamp(to_us(r.rttvar), std::int64_t{0}, kMaxRttUs);
      e.samples = static_cast<int>(std::clamp<std::int64_t>(r.samples, 1, kMaxSamples));
      e.rtt_at_ms = wall(r.rtt_at);
    }
    if (r.failed_at) e.failed_at_ms = wall(*r.failed_at);
    if (e.has_rtt || e.failed_at_ms) out.push_back(e);
  }
  return out;
}

std::vector<History::Record> from_file_entries(std::span<const HistoryFileEntry> entries, ClockPair now,
                                               const History::Options& options) {
  // Ages and expiries are compared in milliseconds (a time far in the past
  // or future must not overflow nanoseconds); every time kept is then within
  // an expiry of now.
  auto age = [&](std::int64_t ms) { return std::chrono::milliseconds(std::max<std::int64_t>(now.wall_ms - ms, 0)); };
  auto fresh = [&](std::int64_t ms, Duration expiry) { return age(ms) < std::chrono::ceil<std::chrono::milliseconds>(expiry); };
  std::vector<History::Record> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    History::Record r{e.address, std::nullopt, {}, 0, {}, std::nullopt};
    if (e.has_rtt && fresh(e.rtt_at_ms, options.rtt_expiry)) {
      r.srtt = std::chrono::microseconds(e.srtt_us);
      r.rttvar = std::chrono::microseconds(e.rttvar_us);
      r.samples = e.samples;
      r.rtt_at = now.steady - age(e.rtt_at_ms);
    }
    if (e.failed_at_ms && fresh(*e.failed_at_ms, options.failure_expiry))
      r.failed_at = now.steady - age(*e.failed_at_ms);
    if (r.srtt || r.failed_at) out.push_back(r);
  }
  return out;
}

std::vector<HistoryFileEntry> merge_history_entries(std::span<const HistoryFileEntry> theirs,
                                                    std::span<const HistoryFileEntry> ours, std::int64_t now_ms,
                                                    const History::Options& options) {
  std::map<IpAddress, HistoryFileEntry> by_address;
  for (const auto& e : theirs) by_address.insert_or_assign(e.address, e);
  for (const auto& e : ours) {
    auto [it, fresh] = by_address.try_emplace(e.address, e);
    if (!fresh && e.last_used_ms() >= it->second.last_used_ms()) it->second = e;
  }
  // In milliseconds: a time far from now must not overflow nanoseconds; the future counts as now.
  auto expired = [&](std::int64_t at, Duration expiry) {
    return std::max<std::int64_t>(now_ms - at, 0) >= std::chrono::ceil<std::chrono::milliseconds>(expiry).count();
  };
  std::vector<HistoryFileEntry> out;
  out.reserve(by_address.size());
  for (auto& [address, e] : by_address) {
    if (e.has_rtt && expired(e.rtt_at_ms, options.rtt_expiry)) {
      e.has_rtt = false;
      e.srtt_us = e.rttvar_us = e.rtt_at_ms = 0;
      e.samples = 0;
    }
    if (e.failed_at_ms && expired(*e.failed_at_ms, options.failure_expiry)) e.failed_at_ms.reset();
    if (e.has_rtt || e.failed_at_ms) out.push_back(e);
  }
  // The most recently used first (ties by address: the file is deterministic); the oldest beyond the cap go.
  std::stable_sort(out.begin(), out.end(),
                   [](const HistoryFileEntry& a, const HistoryFileEntry& b) { return a.last_used_ms() > b.last_used_ms(); });
  if (out.size() > options.max_entries) out.resize(options.max_entries);
  return out;
}

HistoryFile::HistoryFile(std::string path, History& history, Report report, Duration save_interval)
    : path_(std::move(path)), history_(history), report_(std::move(report)), save_interval_(save_interval) {
  load();
  next_save_ns_ = (Clock::now() + save_interval_).time_since_epoch().count();
  history_.set_observer([this] { updated(); });
}

HistoryFile::~HistoryFile() {
  history_.set_observer(nullptr);
  {
    std::lock_guard lock(saver_mutex_);
    stopping_ = true;
  }
  saver_wake_.notify_one();
  if (saver_thread_.joinable()) saver_thread_.join();
  try {
    if (dirty_) save(true);
  } catch (...) {
    // Out of memory while saving: the history is lost, the program goes on.
  }
}

void HistoryFile::report(int line, std::string message) {
  if (report_) report_(Diagnostic{path_, line, std::move(message)});
}

void HistoryFile::load() {
  bool truncated = false;
  auto text = read_bounded(path_, max_file_bytes(history_.options().max_entries), truncated);
  if (!text) {
    int err = errno;
    report(0, err == ENOENT ? std::string("no history yet (a new one is started)")
                            : "cannot read (" + std::string(std::strerror(err)) + "); ignored, a new one is started");
    if (err != ENOENT) dirty_ = true;  // rewrite it
    return;
  }
  try {
    if (truncated)
      throw ParseError(Diagnostic{path_, 0, "larger than " + std::to_string(max_file_bytes(history_.options().max_entries)) + " bytes"});
    auto entries = parse_history_file(*text, path_, history_.options().max_entries);
    auto records = from_file_entries(entries, ClockPair::now(), history_.options());
    history_.merge(records);
  } catch (const ParseError& e) {
    Diagnostic d = e.diagnostic();
    d.message += "; ignored, a new one is started";
    if (report_) report_(d);
    dirty_ = true;
  }
}

void HistoryFile::updated() noexcept {
  dirty_ = true;
  // At most one save per interval: the first update after it claims the save.
  auto now = Clock::now().time_since_epoch().count();
  auto due = next_save_ns_.load(std::memory_order_relaxed);
  if (now < due) return;
  if (!next_save_ns_.compare_exchange_strong(due, now + save_interval_.count(), std::memory_order_relaxed)) return;
  try {
    std::lock_guard lock(saver_mutex_);
    if (stopping_) return;
    save_wanted_ = true;
    if (!saver_thread_.joinable()) saver_thread_ = std::thread([this] { saver(); });
  } catch (...) {
    return;  // no thread: the destructor's save will do
  }
  saver_wake_.notify_one();
}

void HistoryFile::saver() {
  std::unique_lock lock(saver_mutex_);
  for (;;) {
    saver_wake_.wait(lock, [this] { return save_wanted_ || stopping_; });
    if (stopping_) return;
    save_wanted_ = false;
    lock.unlock();
    try {
      save(false);
    } catch (...) {
      // Out of memory while saving: the next save may do better.
    }
    lock.lock();
  }
}

bool HistoryFile::save(bool wait) {
  std::unique_lock lock(save_mutex_, std::defer_lock);
  if (wait) lock.lock();
  else if (!lock.try_lock()) return false;
  return save_locked(wait);
}

bool HistoryFile::save_locked(bool wait) {
  auto fail = [&](const char* what) {
    if (!save_failed_) report(0, std::string("cannot save: ") + what + " (" + std::strerror(errno) + ")");
    save_failed_ = true;
    return false;
  };
  if (!make_parent_directories(path_)) return fail("cannot create its directory");
  // Saves of every process are serialized by an flock on a lock file beside
  // the history (the history itself is replaced by each save).
  Fd lock(::open((path_ + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (lock.fd < 0) return fail("cannot open the lock file");
  for (int tries = 0; ::flock(lock.fd, LOCK_EX | LOCK_NB) != 0; ++tries) {
    if (errno != EWOULDBLOCK && errno != EINTR) return fail("cannot lock");
    if (!wait || tries >= 100) return false;  // busy: the next save will do
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // What others saved, merged with what this process knows.
  dirty_ = false;
  auto now = ClockPair::now();
  std::vector<HistoryFileEntry> theirs;
  bool truncated = false;
  if (auto text = read_bounded(path_, max_file_bytes(history_.options().max_entries), truncated); text && !truncated) {
    try {
      theirs = parse_history_file(*text, path_, history_.options().max_entries);
    } catch (const ParseError&) {
      // A bad file was reported when it was loaded; now it is replaced.
    }
  }
  auto ours = to_file_entries(history_.records(now.steady), now);
  auto text = format_history_file(merge_history_entries(theirs, ours, now.wall_ms, history_.options()));
  // A complete temporary file, then rename(): readers see the old file or the new one, never a part.
  std::string temporary = path_ + ".tmp";
  {
    Fd out(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (out.fd < 0) return fail("cannot create the temporary file");
    if (::fchmod(out.fd, 0600) != 0 || !write_all(out.fd, text)) {
      int err = errno;
      ::unlink(temporary.c_str());
      errno = err;
      return fail("cannot write the temporary file");
    }
  }
  if (::rename(temporary.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    errno = err;
    return fail("cannot rename the temporary file");
  }
  save_failed_ = false;
  return true;
}

}  // namespace detail
}  // namespace heyes::race
