// SPDX-License-Identifier: MIT
// The hosts file as glibc's files backend reads it for getaddrinfo, and RFC 6761 localhost names.
#include "heyes/dns/hosts.hpp"

#include <algorithm>

#include "common/read_file.hpp"
#include "parse_support.hpp"
#include "heyes/dns/config.hpp"

namespace heyes::dns {
namespace {

using detail::quote;

constexpr std::size_t kMaxHostsBytes = std::size_t{64} << 20;  // ad-blocking lists reach tens of MiB
constexpr std::string_view kBlanks = " \t\r\v\f";             // glibc splits fields with isspace()

// The table key: lower case, one trailing dot dropped.
std::string key_of(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return detail::to_lower(name);
}

// An address field: IPv4 dotted quad or IPv6 (glibc's inet_pton); heyes also
// takes an IPv6 %zone. Brackets are not a hosts-file form.
std::optional<IpAddress> parse_hosts_address(std::string_view text) {
  if (text.empty() || text.front() == '[') return std::nullopt;
  return IpAddress::parse(text);
}

// One line: "ADDRESS NAME [ALIAS...]", '#' starts a comment anywhere.
void parse_hosts_line(HostsTable& table, std::string_view text, detail::Reporter& report, int line) {
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    report.note(line, "text after a NUL byte ignored");
    text = text.substr(0, nul);
  }
  text = text.substr(0, text.find('#'));
  auto words = detail::split_words(text, kBlanks);
  if (words.empty()) return;
  auto address = parse_hosts_address(words.front());
  if (!address) return report.error(line, "bad address " + quote(words.front()) + ": line skipped");
  if (words.size() == 1) return report.error(line, "address " + quote(words.front()) + " has no name: line skipped");
  // Each name (canonical name and aliases) is checked on its own; a bad one
  // is dropped, the others of the line still count.
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (validate_host_name(words[i])) {
      report.error(line, "bad name " + quote(words[i]) + " skipped");
      continue;
    }
    if (!table.add(words[i], *address) && table.lookup(words[i], address->family()).size() >= HostsTable::kMaxAddresses)
      report.note(line, "name " + quote(words[i]) + " has too many addresses: " + address->to_string() + " ignored");
  }
}

}  // namespace

std::vector<IpAddress> HostsTable::lookup(std::string_view name, Family family) const {
  std::vector<IpAddress> out;
  if (const auto* all = find(name))
    for (const auto& a : *all)
      if (a.family() == family) out.push_back(a);
  return out;
}

const std::vector<IpAddress>* HostsTable::find(std::string_view name) const {
  if (entries_.empty()) return nullptr;  // no key to build
  auto it = entries_.find(key_of(name));
  return it == entries_.end() ? nullptr : &it->second;
}

bool HostsTable::add(std::string_view name, const IpAddress& address) {
  auto& list = entries_[key_of(name)];
  // File order kept, duplicates dropped; the bound keeps this scan (and the
  // race that tries each address) small whatever the file holds.
  auto same_family = std::count_if(list.begin(), list.end(), [&](const IpAddress& a) { return a.family() == address.family(); });
  if (static_cast<std::size_t>(same_family) >= kMaxAddresses) return false;
  if (std::find(list.begin(), list.end(), address) != list.end()) return false;
  list.push_back(address);
  return true;
}

Parsed<HostsTable> parse_hosts(std::string_view text, std::string_view file_name, ParseMode mode) {
  Parsed<HostsTable> out;
  detail::Reporter report(file_name, mode, &out.warnings);
  detail::for_each_line(text, [&](int line, std::string_view s) { parse_hosts_line(out.value, s, report, line); });
  report.finish();
  return out;
}

Parsed<HostsTable> load_hosts(const std::string& path) {
  std::string error;
  auto text = heyes::detail::read_config_file(path, error, kMaxHostsBytes);
  if (!text) return {HostsTable{}, {Diagnostic{path, 0, "cannot read (" + error + "): no hosts entries"}}};
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
