// SPDX-License-Identifier: MIT
// RFC 6724 policy table: the default rows, longest-prefix lookup and address scope.
#include "heyes/select/policy.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace heyes {
namespace {

IpAddress v6(std::string_view text) { return *IpAddress::parse(text); }

// RFC 6724 section 2.1, the default policy table.
//   Prefix        Precedence Label
//   ::1/128               50     0
//   ::/0                  40     1
//   ::ffff:0:0/96         35     4
//   2002::/16             30     2
//   2001::/32              5     5
//   fc00::/7               3    13
//   ::/96                  1     3
//   fec0::/10              1    11
//   3ffe::/16              1    12
struct DefaultRow {
  const char* prefix;
  int length;
  int precedence;
  int label;
};
constexpr DefaultRow kDefaultRows[] = {
    {"::1", 128, 50, 0},   {"::", 0, 40, 1},        {"::ffff:0:0", 96, 35, 4},
    {"2002::", 16, 30, 2}, {"2001::", 32, 5, 5},    {"fc00::", 7, 3, 13},
    {"::", 96, 1, 3},      {"fec0::", 10, 1, 11},   {"3ffe::", 16, 1, 12},
};

// The glibc defaults of the "/0" rows a replaced table is completed with.
constexpr int kDefaultPrecedence = 40;
constexpr int kDefaultLabel = 1;

// Sorts longest prefix first and keeps, of rows with one prefix, the first
// one (glibc sorts the rows stably by length and takes the first match);
// adds the "/0" row when missing (O(n log n): files may be large).
std::vector<PolicyEntry> normalise(std::vector<PolicyEntry> rows, const Prefix& all, int all_value) {
  for (auto& r : rows) r.prefix = Prefix::of(r.prefix.address, r.prefix.length);
  rows.push_back(PolicyEntry{all, all_value});  // last: any row of the file wins over it
  std::stable_sort(rows.begin(), rows.end(), [](const PolicyEntry& a, const PolicyEntry& b) {
    if (a.prefix.length != b.prefix.length) return a.prefix.length > b.prefix.length;
    return a.prefix.address.bytes() < b.prefix.address.bytes();
  });
  std::vector<PolicyEntry> out;
  for (const auto& r : rows) {
    if (out.empty() || out.back().prefix != r.prefix) out.push_back(r);  // file order kept: the first one wins
  }
  return out;
}

// Longest matching prefix; rows are sorted longest first.
int lookup(const std::vector<PolicyEntry>& rows, const IpAddress& a, int fallback) noexcept {
  for (const auto& r : rows)
    if (r.prefix.contains(a)) return r.value;
  return fallback;
}

// RFC 6724 section 3.1 scope of an IPv6 address.
int scope_v6(const IpAddress& a) noexcept {
  const auto& b = a.bytes();
  if (b[0] == 0xff) return b[1] & 0x0f;                    // multicast: the scope field
  if (a.is_loopback()) return kScopeLinkLocal;             // ::1, link-local per RFC 4007
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return kScopeLinkLocal;  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return kScopeSiteLocal;  // fec0::/10
  return kScopeGlobal;
}

// The "/0" rows (functions, not globals: a PolicyTable may be built during
// another translation unit's static initialisation).
Prefix all_v6() noexcept { return Prefix::of(IpAddress{}, 0); }
Prefix all_v4() noexcept { return Prefix::of(IpAddress::v4(0u), 96); }

}  // namespace

PolicyTable::PolicyTable() {
  std::vector<PolicyEntry> precedences, labels;
  for (const auto& row : kDefaultRows) {
    precedences.push_back({Prefix::of(v6(row.prefix), row.length), row.precedence});
    labels.push_back({Prefix::of(v6(row.prefix), row.length), row.label});
  }
  set_precedences(std::move(precedences));
  set_labels(std::move(labels));
  // RFC 6724 section 3.2: 169.254.0.0/16 and 127.0.0.0/8 link-local.
  set_scopes_v4({{Prefix::of(IpAddress::v4({169, 254, 0, 0}), 112), kScopeLinkLocal},
                 {Prefix::of(IpAddress::v4({127, 0, 0, 0}), 104), kScopeLinkLocal}});
}

PolicyTable PolicyTable::system(std::vector<Diagnostic>* warnings, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  auto parsed = load_policy(path, ParseMode::lenient);
  if (warnings) warnings->insert(warnings->end(), parsed.warnings.begin(), parsed.warnings.end());
  return std::move(parsed.value);
}

int PolicyTable::precedence(const IpAddress& a) const noexcept { return lookup(precedence_, a, kDefaultPrecedence); }

bool PolicyTable::ranks_v4_above(std::span<const IpAddress> v6) const noexcept {
  if (v6.empty()) return false;
  int v4 = kDefaultPrecedence;
  for (const auto& row : precedence_) {  // longest prefix first
    if (row.prefix.length <= 96 && row.prefix.contains(IpAddress::v4(std::uint32_t{0}))) {
      v4 = row.value;
      break;
    }
  }
  return std::all_of(v6.begin(), v6.end(), [&](const IpAddress& a) { return precedence(a) < v4; });
}

int PolicyTable::label(const IpAddress& a) const noexcept { return lookup(label_, a, kDefaultLabel); }

int PolicyTable::scope(const IpAddress& a) const noexcept {
  // RFC 6724 section 3.2: IPv4 scope from the (gai.conf scopev4) table.
  if (a.is_v4()) return lookup(scopev4_, a, kScopeGlobal);
  return scope_v6(a);
}

void PolicyTable::set_precedences(std::vector<PolicyEntry> rows) {
  precedence_ = normalise(std::move(rows), all_v6(), kDefaultPrecedence);
}

void PolicyTable::set_labels(std::vector<PolicyEntry> rows) {
  label_ = normalise(std::move(rows), all_v6(), kDefaultLabel);
}

void PolicyTable::set_scopes_v4(std::vector<PolicyEntry> rows) {
  scopev4_ = normalise(std::move(rows), all_v4(), kScopeGlobal);
}

}  // namespace heyes
