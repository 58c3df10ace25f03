// SPDX-License-Identifier: MIT
// The hosts: line of nsswitch.conf: where names come from, in order, and what each source's outcome does next.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/diagnostic.hpp"

namespace heyes::dns {

// How one source's lookup ended, as glibc's NSS says it (nss_status).
enum class SourceStatus : std::uint8_t { success, notfound, unavail, tryagain };

// What the walk over the sources does after a status: stop there with that
// outcome, or ask the next source. glibc's "merge" is only for the group
// database; on a hosts: line glibc's getaddrinfo stops the walk there
// ("The hosts database does not support MERGE"), so it is read as "return"
// with a warning.
enum class SourceAction : std::uint8_t { return_, continue_ };

// One source of the hosts: line: "files", "dns", or any other NSS service
// ("mdns4_minimal", "myhostname", "resolve", "sss", ...), which heyes asks
// through the system's getaddrinfo.
struct HostsSource {
  std::string name;
  // By SourceStatus: glibc's defaults are [SUCCESS=return NOTFOUND=continue
  // UNAVAIL=continue TRYAGAIN=continue].
  std::array<SourceAction, 4> actions{SourceAction::return_, SourceAction::continue_, SourceAction::continue_,
                                      SourceAction::continue_};

  SourceAction action(SourceStatus s) const noexcept { return actions[static_cast<std::size_t>(s)]; }
  bool is_files() const noexcept { return name == "files"; }
  bool is_dns() const noexcept { return name == "dns"; }
  friend bool operator==(const HostsSource&, const HostsSource&) = default;
};

// The sources of host names, in the order they are asked.
struct HostsSources {
  std::vector<HostsSource> sources;
  // No nsswitch.conf, or no hosts: line in it: glibc's built-in default.
  bool is_default = false;

  // glibc's default for hosts when nsswitch.conf has none: "files dns" since
  // glibc 2.35 (nss_database.c; "dns [!UNAVAIL=return] files" before).
  static HostsSources glibc_default();
  // "files" then "dns", each with the default actions (what heyes did before it read nsswitch.conf).
  static HostsSources files_dns();
  // In nsswitch.conf syntax: "files mdns4_minimal [NOTFOUND=return] dns"
  // (actions written only where they differ from the defaults).
  std::string to_string() const;
  friend bool operator==(const HostsSources&, const HostsSources&) = default;
};

// Reads the hosts: line of nsswitch.conf text as glibc 2.36 does (database
// names case-sensitive, statuses and actions not; a line whose first word is
// no database, "#..." included, is ignored, but a '#' after "hosts:" starts
// no comment; a last line without '\n' is ignored; the last hosts: line
// wins; other databases only count when their action list is malformed:
// glibc then rejects the whole file, and no source is asked). A malformed
// line is what glibc makes of it, with a Diagnostic naming file:line in
// lenient mode; strict mode throws ParseError.
Parsed<HostsSources> parse_nsswitch_hosts(std::string_view text, std::string_view file_name,
                                          ParseMode mode = ParseMode::lenient);

// Reads the file (bounded, as the other configuration files); a missing file
// gives glibc_default() without a warning, an unreadable one gives it with one.
Parsed<HostsSources> load_nsswitch_hosts(const std::string& path = "/etc/nsswitch.conf",
                                         ParseMode mode = ParseMode::lenient);

}  // namespace heyes::dns
