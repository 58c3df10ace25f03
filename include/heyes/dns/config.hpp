// SPDX-License-Identifier: MIT
// Resolver configuration: resolv.conf as glibc reads it, RES_OPTIONS and LOCALDOMAIN, name checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"

namespace heyes::dns {

struct Nameserver {
  IpAddress address;        // link-local IPv6 keeps its %zone as scope_id
  std::uint16_t port = 53;

  std::string to_string() const;  // "192.0.2.53:53", "[2001:db8::53]:53"
  // "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT", "V6" (a bare IPv6 has no port).
  static std::optional<Nameserver> parse(std::string_view text);
  friend bool operator==(const Nameserver&, const Nameserver&) = default;
};

struct ResolverConfig {
  std::vector<Nameserver> nameservers;      // at most 3 from resolv.conf; empty -> 127.0.0.1 and ::1 (glibc)
  std::vector<std::string> search;          // search list (last search/domain line wins)
  int ndots = 1;                            // 0..15
  std::chrono::seconds timeout{5};          // per try, 1..30
  int attempts = 2;                         // rounds over the servers, 1..5
  bool rotate = false;
  bool edns0 = true;                        // heyes always advertises EDNS0 (1232 bytes); kept for completeness
  bool use_vc = false;                      // TCP always
  bool no_aaaa = false;                     // never send AAAA queries
  bool no_tld_query = false;                // a name without a dot is not asked as-is after the search list
  friend bool operator==(const ResolverConfig&, const ResolverConfig&) = default;
};

// Parses resolv.conf text. Unknown keywords and options are ignored (as
// glibc); in strict mode a malformed known line (bad nameserver address, bad
// option value) throws ParseError naming file:line; lenient mode collects it.
Parsed<ResolverConfig> parse_resolv_conf(std::string_view text, std::string_view file_name,
                                         ParseMode mode = ParseMode::lenient);

// Applies an "options" value list (as in RES_OPTIONS): "ndots:2 timeout:1 rotate".
void apply_options(ResolverConfig& config, std::string_view options, std::vector<Diagnostic>* warnings = nullptr);

// Reads the file (a missing file gives the defaults, as glibc), then applies
// LOCALDOMAIN and RES_OPTIONS from the environment unless use_environment is false.
Parsed<ResolverConfig> load_resolv_conf(const std::string& path = "/etc/resolv.conf",
                                        ParseMode mode = ParseMode::lenient, bool use_environment = true);

// The host-name check before anything is sent (glibc's res_hnok, which
// getaddrinfo applies): total length <= 253 (without the trailing dot),
// labels of 1..63 letters, digits, '-' and '_', no empty label, no leading
// '-'. Nothing else, so no backslash escapes. Returns
// heyes::errc::bad_host_name or an empty code.
std::error_code validate_host_name(std::string_view name);

// The names to query, in order, for a host name (search list and ndots, as
// glibc): a trailing dot means absolute (only itself); a name with at least
// ndots dots is tried as-is first, then with the suffixes; otherwise the
// suffixes first and as-is last (never, for a name without a dot, with
// no_tld_query and a search list). Returned names have no trailing dot.
std::vector<std::string> candidate_names(std::string_view name, const ResolverConfig& config);

}  // namespace heyes::dns
