// SPDX-License-Identifier: MIT
// The hosts file as glibc's files backend reads it (a map when small, scanned per lookup when large); RFC 6761 localhost.
#include "heyes/dns/hosts.hpp"

#include <algorithm>
#include <mutex>

#include "common/lru_map.hpp"
#include "common/read_file.hpp"
#include "parse_support.hpp"
#include "heyes/dns/config.hpp"

namespace heyes::dns {
namespace {

using detail::quote;

// Held whole: what a non-regular file (FIFO, device) may weigh, read at once.
constexpr std::size_t kMaxHostsBytes = std::size_t{64} << 20;
// Scanned per lookup: ad-blocking lists reach tens of MiB; a larger file is
// ignored (each uncached lookup would read all of it).
constexpr std::size_t kMaxScannedBytes = std::size_t{1} << 30;

// glibc splits fields with isspace().
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The next field of rest (empty at the end); rest continues after it.
std::string_view next_word(std::string_view& rest) noexcept {
  std::size_t b = 0;
  while (b < rest.size() && is_blank(rest[b])) ++b;
  std::size_t e = b;
  while (e < rest.size() && !is_blank(rest[e])) ++e;
  auto word = rest.substr(b, e - b);
  rest.remove_prefix(e);
  return word;
}

// The table key: lower case. A trailing dot stays: glibc's files backend
// compares the name asked with each name of a line as they are
// (strcasecmp), so "host." matches only a line that says "host.".
std::string key_of(std::string_view name) { return detail::to_lower(name); }

// An address field: IPv4 dotted quad or IPv6 (glibc's inet_pton); heyes also
// takes an IPv6 %zone. Brackets are not a hosts-file form.
std::optional<IpAddress> parse_hosts_address(std::string_view text) {
  if (text.empty() || text.front() == '[') return std::nullopt;
  return IpAddress::parse(text);
}

enum class Added { yes, duplicate, full };

// One name's addresses: file order kept, duplicates dropped; the bound keeps
// this scan (and the race that tries each address) small whatever the file holds.
Added add_bounded(std::vector<IpAddress>& list, const IpAddress& address) {
  auto same_family =
      std::count_if(list.begin(), list.end(), [&](const IpAddress& a) { return a.family() == address.family(); });
  if (static_cast<std::size_t>(same_family) >= HostsTable::kMaxAddresses) return Added::full;
  if (std::find(list.begin(), list.end(), address) != list.end()) return Added::duplicate;
  list.push_back(address);
  return Added::yes;
}

// One line: "ADDRESS NAME [ALIAS...]", '#' starts a comment anywhere.
// wanted(name) picks the names to add: every one when a file is parsed whole,
// the one looked up when a lookup scans the file; add(name, address) adds it.
// Without a reporter (a scan) a line naming nothing wanted is passed over
// before its address is parsed; with one, every diagnostic is the same
// whatever wanted says.
template <class Wanted, class Add>
void parse_hosts_line(std::string_view text, detail::Reporter* report, int line, Wanted&& wanted, Add&& add) {
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    if (report) report->note(line, "text after a NUL byte ignored");
    text = text.substr(0, nul);
  }
  text = text.substr(0, text.find('#'));
  std::string_view names = text;
  const auto first = next_word(names);
  if (first.empty()) return;
  if (report == nullptr) {
    bool any = false;
    for (auto rest = names; !any;) {
      const auto w = next_word(rest);
      if (w.empty()) return;
      any = wanted(w);
    }
  }
  const auto address = parse_hosts_address(first);
  if (!address) {
    if (report) report->error(line, "bad address " + quote(first) + ": line skipped");
    return;
  }
  auto name = next_word(names);
  if (name.empty()) {
    if (report) report->error(line, "address " + quote(first) + " has no name: line skipped");
    return;
  }
  // Each name (canonical name and aliases) is checked on its own; a bad one
  // is dropped, the others of the line still count.
  for (; !name.empty(); name = next_word(names)) {
    if (!wanted(name)) continue;
    if (validate_host_name(name)) {
      if (report) report->error(line, "bad name " + quote(name) + " skipped");
      continue;
    }
    if (add(name, *address) == Added::full && report)
      report->note(line, "name " + quote(name) + " has too many addresses: " + address->to_string() + " ignored");
  }
}

// Every line of text, every name wanted.
template <class Add>
void parse_hosts_text(std::string_view text, detail::Reporter* report, Add&& add) {
  auto all = [](std::string_view) { return true; };
  detail::for_each_line(text, [&](int line, std::string_view s) { parse_hosts_line(s, report, line, all, add); });
}

std::vector<IpAddress> of_family(const std::vector<IpAddress>& all, Family family) {
  std::vector<IpAddress> out;
  for (const auto& a : all)
    if (a.family() == family) out.push_back(a);
  return out;
}

}  // namespace

// The file behind a table, loaded once on first use: a map when small, else
// a path to scan and the results of recent lookups.
struct HostsTable::File {
  explicit File(std::string p) : path(std::move(p)) {}

  std::string path;
  std::once_flag loaded;
  bool scanned = false;                                            // else map
  std::unordered_map<std::string, std::vector<IpAddress>> map;     // when small
  std::mutex mu;                                                   // guards recent
  common::detail::LruMap<std::string, std::vector<IpAddress>> recent{kRecentLookups};

  void load() {
    std::call_once(loaded, [this] {
      if (auto size = heyes::detail::regular_file_size(path); size && *size > kMaxMappedBytes) {
        scanned = true;
        return;
      }
      std::string error;
      auto text = heyes::detail::read_config_file(path, error, kMaxHostsBytes);
      if (!text) return;
      parse_hosts_text(*text, nullptr, [this](std::string_view name, const IpAddress& a) {
        return add_bounded(map[key_of(name)], a);
      });
    });
  }

  std::vector<IpAddress> find(std::string_view name) {
    load();
    if (!scanned) {
      if (map.empty()) return {};
      auto it = map.find(key_of(name));
      return it == map.end() ? std::vector<IpAddress>{} : it->second;
    }
    std::string key = key_of(name);
    {
      std::lock_guard lock(mu);
      if (const auto* hit = recent.find(key)) return *hit;
    }
    auto found = scan(key);  // outside the lock: other lookups need not wait for it
    std::lock_guard lock(mu);
    recent.insert_or_assign(key, found);
    return found;
  }

  // Every line naming key, in file order (key is lower case); nothing when
  // the file cannot be read whole.
  std::vector<IpAddress> scan(const std::string& key) const {
    std::vector<IpAddress> out;
    auto wanted = [&](std::string_view w) { return detail::iequals(w, key); };
    auto add = [&](std::string_view, const IpAddress& a) { return add_bounded(out, a); };
    std::string error;
    bool whole = heyes::detail::scan_config_file(path, error, kMaxScannedBytes, [&](std::string_view line) {
      parse_hosts_line(line, nullptr, 0, wanted, add);
      return true;
    });
    if (!whole) out.clear();
    return out;
  }

  bool empty() {
    load();
    if (!scanned) return map.empty();
    bool any = false;
    auto all = [](std::string_view) { return true; };
    auto add = [&](std::string_view, const IpAddress&) {
      any = true;
      return Added::yes;
    };
    std::string error;
    heyes::detail::scan_config_file(path, error, kMaxScannedBytes, [&](std::string_view line) {
      parse_hosts_line(line, nullptr, 0, all, add);
      return !any;
    });
    return !any;
  }
};

HostsTable::HostsTable() = default;
HostsTable::~HostsTable() = default;
HostsTable::HostsTable(const HostsTable&) = default;
HostsTable& HostsTable::operator=(const HostsTable&) = default;
HostsTable::HostsTable(HostsTable&&) noexcept = default;
HostsTable& HostsTable::operator=(HostsTable&&) noexcept = default;

HostsTable HostsTable::from_file(std::string path) {
  HostsTable t;
  t.file_ = std::make_shared<File>(std::move(path));
  return t;
}

bool HostsTable::same_file_as(const HostsTable& other) const noexcept {
  return file_ && file_ == other.file_ && entries_.empty() && other.entries_.empty();
}

std::vector<IpAddress> HostsTable::lookup(std::string_view name, Family family) const {
  return of_family(find(name), family);
}

std::vector<IpAddress> HostsTable::find(std::string_view name) const {
  std::vector<IpAddress> out;
  if (file_) out = file_->find(name);
  if (entries_.empty()) return out;  // no key to build
  auto it = entries_.find(key_of(name));
  if (it == entries_.end()) return out;
  if (out.empty()) return it->second;
  for (const auto& a : it->second) add_bounded(out, a);  // after the file's, within the same bound
  return out;
}

bool HostsTable::empty() const { return entries_.empty() && (!file_ || file_->empty()); }

bool HostsTable::add(std::string_view name, const IpAddress& address) {
  auto& list = entries_[key_of(name)];
  if (file_) {
    // The file's addresses come first and count toward the bound.
    auto merged = file_->find(name);
    for (const auto& a : list) add_bounded(merged, a);
    if (add_bounded(merged, address) != Added::yes) return false;
  }
  return add_bounded(list, address) == Added::yes;
}

Parsed<HostsTable> parse_hosts(std::string_view text, std::string_view file_name, ParseMode mode) {
  Parsed<HostsTable> out;
  detail::Reporter report(file_name, mode, &out.warnings);
  HostsTable& table = out.value;
  parse_hosts_text(text, &report, [&table](std::string_view name, const IpAddress& a) {
    if (table.add(name, a)) return Added::yes;
    return table.lookup(name, a.family()).size() >= HostsTable::kMaxAddresses ? Added::full : Added::duplicate;
  });
  report.finish();
  return out;
}

Parsed<HostsTable> load_hosts(const std::string& path) {
  auto cannot_read = [&](const std::string& error) {
    return Parsed<HostsTable>{HostsTable{}, {Diagnostic{path, 0, "cannot read (" + error + "): no hosts entries"}}};
  };
  std::string error;
  if (auto size = heyes::detail::regular_file_size(path); size && *size > HostsTable::kMaxMappedBytes) {
    // Checked line by line (nothing kept), then backed by the file.
    Parsed<HostsTable> out;
    detail::Reporter report(path, ParseMode::lenient, &out.warnings);
    auto all = [](std::string_view) { return true; };
    auto add = [](std::string_view, const IpAddress&) { return Added::yes; };
    int number = 0;
    const bool whole = heyes::detail::scan_config_file(path, error, kMaxScannedBytes, [&](std::string_view line) {
      if (number < 0x7fffffff) ++number;
      parse_hosts_line(line, &report, number, all, add);
      return true;
    });
    if (!whole) return cannot_read(error);
    report.finish();
    out.value = HostsTable::from_file(path);
    return out;
  }
  auto text = heyes::detail::read_config_file(path, error, kMaxHostsBytes);
  if (!text) return cannot_read(error);
  return parse_hosts(*text, path, ParseMode::lenient);
}

bool is_localhost_name(std::string_view name) noexcept {
  // RFC 6761 6.3: "localhost." and every name below it.
  if (validate_host_name(name)) return false;
  if (name.back() == '.') name.remove_suffix(1);
  constexpr std::string_view kLocalhost = "localhost";
  if (name.size() < kLocalhost.size() || !detail::iequals(name.substr(name.size() - kLocalhost.size()), kLocalhost))
    return false;
  return name.size() == kLocalhost.size() || name[name.size() - kLocalhost.size() - 1] == '.';
}

}  // namespace heyes::dns
