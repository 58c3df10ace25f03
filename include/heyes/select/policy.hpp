// SPDX-License-Identifier: MIT
// RFC 6724 policy table (precedence, label, IPv4 scope) and its gai.conf(5) parser.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"

namespace heyes {

// RFC 6724 section 3.1 scope values (the IPv6 multicast scope field).
inline constexpr int kScopeInterfaceLocal = 0x1;
inline constexpr int kScopeLinkLocal = 0x2;
inline constexpr int kScopeAdminLocal = 0x4;
inline constexpr int kScopeSiteLocal = 0x5;
inline constexpr int kScopeOrganizationLocal = 0x8;
inline constexpr int kScopeGlobal = 0xe;

// One row of a table: the prefix and its precedence, label or scope.
struct PolicyEntry {
  Prefix prefix;
  int value = 0;
  friend bool operator==(const PolicyEntry&, const PolicyEntry&) = default;
};

// The policy of RFC 6724 section 2.1 plus the IPv4 scope table of section
// 3.2, as glibc's gai.conf configures them. Lookups take the longest matching
// prefix; IPv4 addresses are looked up in their IPv4-mapped form.
class PolicyTable {
 public:
  // The RFC 6724 section 2.1 default table; scopev4: 127.0.0.0/8 and
  // 169.254.0.0/16 link-local, everything else global.
  PolicyTable();
  static PolicyTable rfc6724() { return {}; }

  // /etc/gai.conf (or path) if it exists (lenient: bad lines skipped, their
  // warnings appended to *warnings when given), else the RFC 6724 table.
  static PolicyTable system(std::vector<Diagnostic>* warnings = nullptr, const std::string& path = "/etc/gai.conf");

  int precedence(const IpAddress& a) const noexcept;
  // RFC 6724 rule 6 between the families: true when the table ranks IPv4 as
  // a whole (the longest row covering all of ::ffff:0:0/96) above every one
  // of these IPv6 addresses, so IPv4 is the preferred family (6to4 under the
  // default table, or a gai.conf that prefers IPv4). False for an empty list.
  bool ranks_v4_above(std::span<const IpAddress> v6) const noexcept;
  int label(const IpAddress& a) const noexcept;
  // RFC 6724 section 3.1: IPv6 multicast scope from the address; ::1 and
  // fe80::/10 link-local (RFC 4007); fec0::/10 site-local; other IPv6
  // global. IPv4 (section 3.2) from the scopev4 table.
  int scope(const IpAddress& a) const noexcept;

  // The tables, longest prefix first.
  const std::vector<PolicyEntry>& precedences() const noexcept { return precedence_; }
  const std::vector<PolicyEntry>& labels() const noexcept { return label_; }
  const std::vector<PolicyEntry>& scopes_v4() const noexcept { return scopev4_; }

  // Replace one whole table, as a gai.conf with lines of that kind does. As
  // in glibc, a table without a /0 row (::/0, or ::ffff:0:0/96 for scopev4)
  // gets one: precedence 40, label 1, scope global. Of two rows with the
  // same prefix the first one wins (glibc sorts the rows stably by prefix
  // length and takes the first that matches).
  void set_precedences(std::vector<PolicyEntry> rows);
  void set_labels(std::vector<PolicyEntry> rows);
  void set_scopes_v4(std::vector<PolicyEntry> rows);

 private:
  std::vector<PolicyEntry> precedence_;
  std::vector<PolicyEntry> label_;
  std::vector<PolicyEntry> scopev4_;
};

// Parses gai.conf text (glibc's gai.conf(5) syntax):
//   label PREFIX[/LEN] VALUE        precedence PREFIX[/LEN] VALUE
//   scopev4 MASK[/LEN] VALUE        reload yes|no    (accepted, no effect)
// PREFIX is an IPv6 address (LEN 0..128, default 128). MASK is an
// IPv4-mapped IPv6 prefix (::ffff:169.254.0.0/112, LEN 96..128) or, as glibc
// also takes, an IPv4 prefix (169.254.0.0/16, LEN 0..32). VALUE is
// 0..2147483647. '#' starts a comment; blank lines are ignored. Any line of a
// kind replaces that whole default table; kinds not mentioned keep theirs.
// Strict mode throws ParseError ("file:line: reason") at the first bad line;
// lenient mode skips bad lines and returns a warning for each.
Parsed<PolicyTable> parse_policy(std::string_view text, std::string_view file_name,
                                 ParseMode mode = ParseMode::strict);

// Reads and parses a gai.conf file (at most 1 MiB). A file that cannot be read
// is a ParseError (strict) or a warning and the RFC 6724 table (lenient).
Parsed<PolicyTable> load_policy(const std::string& path, ParseMode mode = ParseMode::strict);

}  // namespace heyes
