// SPDX-License-Identifier: MIT
// The hosts file: name (and aliases) to addresses, consulted before DNS.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"

namespace heyes::dns {

// Names (and aliases) to addresses, as glibc's files backend reads them.
// Either built in memory (parse_hosts, add) or backed by a file
// (from_file): a small file is parsed into a map when first consulted, a
// large one (over kMaxMappedBytes) is never held: each lookup scans it, and
// the results of the last kRecentLookups names are kept. Copies share the
// file's state. Thread-safe for concurrent lookups; add() is not.
class HostsTable {
 public:
  HostsTable();
  ~HostsTable();
  HostsTable(const HostsTable&);
  HostsTable& operator=(const HostsTable&);
  HostsTable(HostsTable&&) noexcept;
  HostsTable& operator=(HostsTable&&) noexcept;

  // The hosts file at path, read when a lookup first needs it, not before
  // (a dial to a literal never reads it). An unreadable file has no entries.
  static HostsTable from_file(std::string path);
  // Backed by the same from_file() state as other (copies share it), with
  // no entry add()ed to either: the same table of the same file.
  bool same_file_as(const HostsTable& other) const noexcept;

  // Addresses for a name (case-insensitive; a trailing dot is part of the
  // name, as glibc compares them: "host." is not "host") of one
  // family, in file order. As glibc's files backend: every line naming the
  // name contributes, duplicates dropped.
  std::vector<IpAddress> lookup(std::string_view name, Family family) const;
  // Every address of a name, both families, in file order; empty when absent.
  std::vector<IpAddress> find(std::string_view name) const;
  // No entry at all (for a file: reads it, up to its first entry).
  bool empty() const;

  // Adds an address to a name (case-insensitive, trailing dot kept),
  // after the file's when the table has one. False when it is already there
  // or the name already has kMaxAddresses of that family (a bound against
  // hostile files; later ones are ignored).
  bool add(std::string_view name, const IpAddress& address);

  static constexpr std::size_t kMaxAddresses = 64;
  // A hosts file up to this size is held as a map (about six times its size
  // in memory); a larger one is scanned per lookup, as glibc does.
  static constexpr std::size_t kMaxMappedBytes = std::size_t{1} << 20;
  static constexpr std::size_t kRecentLookups = 256;

 private:
  struct File;
  std::unordered_map<std::string, std::vector<IpAddress>> entries_;  // lower-case name -> addresses
  std::shared_ptr<File> file_;                                       // null: in memory only
};

// Bad lines (bad address, no name, invalid name) are skipped with a warning in
// lenient mode; strict mode throws ParseError naming file:line.
Parsed<HostsTable> parse_hosts(std::string_view text, std::string_view file_name,
                               ParseMode mode = ParseMode::lenient);

// Reads the file now, with its diagnostics (those of parse_hosts; a file
// over kMaxMappedBytes is checked line by line in one pass and then backed
// by the file, without the note on a name's address bound, which needs every
// name's count). A missing or unreadable file gives an empty table (and a
// warning).
Parsed<HostsTable> load_hosts(const std::string& path = "/etc/hosts");

// RFC 6761: "localhost", "localhost.", and every "*.localhost" name resolve to
// loopback (::1 / 127.0.0.1) whatever the hosts file and DNS say.
bool is_localhost_name(std::string_view name) noexcept;

}  // namespace heyes::dns
