// SPDX-License-Identifier: MIT
// RFC 6724 section 6 destination sorting (rules 1-10) and RFC 8305 section 4 interleaving.
#include "heyes/select/sort.hpp"

#include <algorithm>
#include <bit>

#include "heyes/select/policy.hpp"

namespace heyes {
namespace {

// Everything the rules compare, computed once per destination.
struct Candidate {
  IpAddress destination;
  std::optional<SourceInfo> source;
  std::size_t index = 0;  // position in the input (rule 10)
  int scope = 0, label = 0, precedence = 0;
  int source_scope = 0, source_label = 0;
};

// -1: a first, 1: b first, 0: this rule has no opinion.
int prefer(bool a_wins, bool b_wins) noexcept { return a_wins && !b_wins ? -1 : (b_wins && !a_wins ? 1 : 0); }

// Rule 7 as far as a source address shows it: 6to4 (2002::/16) and Teredo
// (2001::/32) sources mean an encapsulating transition mechanism.
bool via_transition_mechanism(const Candidate& c) noexcept {
  if (!c.source || c.source->address.is_v4()) return false;
  const auto& b = c.source->address.bytes();
  bool six_to_four = b[0] == 0x20 && b[1] == 0x02;
  bool teredo = b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0;
  return six_to_four || teredo;
}

// CommonPrefixLen(Source(D), D) of rule 9, up to the length of the source's
// prefix. IPv4 counts in IPv4 bits and needs the prefix length (without it,
// sharing leading bits says nothing about being nearby); IPv6 with an
// unknown prefix length counts up to 64, the usual IPv6 subnet size.
std::optional<int> common_prefix_len(const Candidate& c) noexcept {
  const auto& s = c.source->address.bytes();
  const auto& d = c.destination.bytes();
  bool v4 = c.destination.is_v4();
  if (v4 && c.source->prefix_length < 0) return std::nullopt;
  int first = v4 ? 12 : 0;
  int cap = c.source->prefix_length >= 0 ? c.source->prefix_length : 64;
  cap = std::min(cap, v4 ? 32 : 128);
  int bits = 0;
  for (int i = first; i < 16 && bits < cap; ++i) {
    auto x = static_cast<unsigned>(s[static_cast<std::size_t>(i)] ^ d[static_cast<std::size_t>(i)]);
    if (x != 0) return std::min(cap, bits + std::countl_zero(static_cast<std::uint8_t>(x)));
    bits += 8;
  }
  return std::min(cap, bits);
}

// Rules 1-8 of RFC 6724 section 6, in order; the first with an opinion decides.
int compare_rules_1_to_8(const Candidate& a, const Candidate& b) noexcept {
  // Rule 1: Avoid unusable destinations (no source address).
  if (int r = prefer(a.source.has_value(), b.source.has_value())) return r;
  if (!a.source) return 0;  // both unusable: only rule 10 orders them
  // Rule 2: Prefer matching scope.
  if (int r = prefer(a.scope == a.source_scope, b.scope == b.source_scope)) return r;
  // Rule 3: Avoid deprecated addresses.
  if (int r = prefer(!a.source->deprecated, !b.source->deprecated)) return r;
  // Rule 4: Prefer home addresses. Linux reports IFA_F_HOMEADDRESS only with a
  // Mobile IPv6 daemon, and nothing tells a care-of address apart, so this
  // compares the home flag alone (always false on a plain host).
  if (int r = prefer(a.source->home, b.source->home)) return r;
  // Rule 5: Prefer matching label.
  if (int r = prefer(a.label == a.source_label, b.label == b.source_label)) return r;
  // Rule 6: Prefer higher precedence.
  if (a.precedence != b.precedence) return a.precedence > b.precedence ? -1 : 1;
  // Rule 7: Prefer native transport. Linux does not say whether a route goes
  // through a tunnel interface; what the source shows is 6to4 and Teredo.
  if (int r = prefer(!via_transition_mechanism(a), !via_transition_mechanism(b))) return r;
  // Rule 8: Prefer smaller scope.
  if (a.scope != b.scope) return a.scope < b.scope ? -1 : 1;
  return 0;
}

// Rule 9: Use longest matching prefix (same family only).
int compare_rule_9(const Candidate& a, const Candidate& b) noexcept {
  if (a.destination.family() != b.destination.family()) return 0;
  auto la = common_prefix_len(a), lb = common_prefix_len(b);
  if (!la || !lb || *la == *lb) return 0;
  return *la > *lb ? -1 : 1;
}

Candidate make_candidate(const IpAddress& d, std::size_t index, const PolicyTable& policy, SourceLookup& sources) {
  Candidate c{d, sources.source_for(d), index};
  c.scope = policy.scope(d);
  c.label = policy.label(d);
  c.precedence = policy.precedence(d);
  if (c.source) {
    c.source_scope = policy.scope(c.source->address);
    c.source_label = policy.label(c.source->address);
  }
  return c;
}

}  // namespace

std::vector<IpAddress> sort_destinations(std::span<const IpAddress> destinations, const PolicyTable& policy,
                                         SourceLookup& sources, const ExtraRule& extra) {
  std::vector<Candidate> cs;
  cs.reserve(destinations.size());
  for (std::size_t i = 0; i < destinations.size(); ++i)
    cs.push_back(make_candidate(destinations[i], i, policy, sources));
  std::stable_sort(cs.begin(), cs.end(), [&](const Candidate& a, const Candidate& b) {
    if (int r = compare_rules_1_to_8(a, b)) return r < 0;
    // Between rules 8 and 9: the caller's rule (RFC 8305 section 4, RTT history).
    // Only among usable destinations, so rule 1 keeps the unusable ones last.
    if (extra && a.source && b.source)
      if (int r = extra(a.destination, b.destination)) return r < 0;
    if (a.source && b.source)
      if (int r = compare_rule_9(a, b)) return r < 0;
    // Rule 10: Otherwise, leave the order unchanged.
    return a.index < b.index;
  });
  std::vector<IpAddress> out;
  out.reserve(cs.size());
  for (const auto& c : cs) out.push_back(c.destination);
  return out;
}

std::vector<IpAddress> interleave_families(std::span<const IpAddress> sorted, int first_family_count,
                                           std::optional<Family> continue_after) {
  if (sorted.empty()) return {};
  // RFC 8305 section 4: First Address Family Count of the first family, then
  // one of each family in turn; when one runs out the rest follow in order.
  // Continuing an alternation already started, the other family goes first.
  const Family first = continue_after ? (*continue_after == Family::v6 ? Family::v4 : Family::v6)
                                      : sorted.front().family();
  std::size_t lead = continue_after ? 1 : static_cast<std::size_t>(std::max(first_family_count, 1));
  std::vector<IpAddress> preferred, other;
  for (const auto& a : sorted) (a.family() == first ? preferred : other).push_back(a);
  std::vector<IpAddress> out;
  out.reserve(sorted.size());
  std::size_t p = 0, o = 0;
  while (p < preferred.size() && p < lead) out.push_back(preferred[p++]);
  while (p < preferred.size() || o < other.size()) {
    if (o < other.size()) out.push_back(other[o++]);
    if (p < preferred.size()) out.push_back(preferred[p++]);
  }
  return out;
}

std::vector<IpAddress> order_destinations(std::vector<IpAddress> candidates, const PolicyTable& policy,
                                          SourceLookup& sources, const OrderOptions& options) {
  if (candidates.size() <= 1) return candidates;
  auto failed_begin = candidates.end();
  if (options.recently_failed) {
    failed_begin = std::stable_partition(candidates.begin(), candidates.end(),
                                         [&](const IpAddress& a) { return !options.recently_failed(a); });
  }
  auto order_group = [&](std::span<const IpAddress> group) {
    return interleave_families(sort_destinations(group, policy, sources, options.history_rule),
                               options.first_family_count, options.continue_after);
  };
  auto ordered = order_group({candidates.begin(), failed_begin});
  if (failed_begin != candidates.end()) {
    auto last = order_group({failed_begin, candidates.end()});
    ordered.insert(ordered.end(), last.begin(), last.end());
  }
  return ordered;
}

}  // namespace heyes
