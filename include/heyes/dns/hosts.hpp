// SPDX-License-Identifier: MIT
// The hosts file: name (and aliases) to addresses, consulted before DNS.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"

namespace heyes::dns {

class HostsTable {
 public:
  // Addresses for a name (case-insensitive, trailing dot ignored) of one
  // family, in file order. As glibc's files backend: every line naming the
  // name contributes, duplicates dropped.
  std::vector<IpAddress> lookup(std::string_view name, Family family) const;
  // Every address of a name, both families, in file order; null when absent.
  const std::vector<IpAddress>* find(std::string_view name) const;
  bool empty() const noexcept { return entries_.empty(); }

  // Adds an address to a name (case-insensitive, trailing dot ignored).
  // False when it is already there or the name already has kMaxAddresses of
  // that family (a bound against hostile files; later ones are ignored).
  bool add(std::string_view name, const IpAddress& address);

  static constexpr std::size_t kMaxAddresses = 64;

 private:
  std::unordered_map<std::string, std::vector<IpAddress>> entries_;  // lower-case name -> addresses
};

// Bad lines (bad address, no name, invalid name) are skipped with a warning in
// lenient mode; strict mode throws ParseError naming file:line.
Parsed<HostsTable> parse_hosts(std::string_view text, std::string_view file_name,
                               ParseMode mode = ParseMode::lenient);

// A missing or unreadable file gives an empty table (and a warning).
Parsed<HostsTable> load_hosts(const std::string& path = "/etc/hosts");

// RFC 6761: "localhost", "localhost.", and every "*.localhost" name resolve to
// loopback (::1 / 127.0.0.1) whatever the hosts file and DNS say.
bool is_localhost_name(std::string_view name) noexcept;

}  // namespace heyes::dns
