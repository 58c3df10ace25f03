// SPDX-License-Identifier: MIT
// Nat64Prefix: an RFC 6052 NAT64 prefix, validated (what DialOptions names; the rest of NAT64 is in nat64.hpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "heyes/address.hpp"

namespace heyes {

// RFC 6052 section 2.2: the lengths a NAT64 prefix may have.
inline constexpr std::array<int, 6> kNat64PrefixLengths{32, 40, 48, 56, 64, 96};

// A NAT64 prefix (RFC 6052 "Pref64::/n"): an IPv6 prefix of length 32, 40,
// 48, 56, 64 or 96 whose bits past the length are zero and whose "u" octet
// (bits 64-71) is zero (section 2.2; for /96 it lies inside the prefix and
// the RFC asks administrators to keep it zero). A prefix overlapping
// ::ffff:0:0/96 is refused: that is how heyes holds IPv4 addresses, so what
// it synthesized would read as IPv4.
class Nat64Prefix {
 public:
  // The prefix, or nullopt when it is not a NAT64 prefix (the reason in *why).
  static std::optional<Nat64Prefix> make(const Prefix& prefix, std::string* why = nullptr);
  static std::optional<Nat64Prefix> make(const IpAddress& address, int length, std::string* why = nullptr);
  // "64:ff9b::/96", "2001:db8:100::/40": an IPv6 literal, '/', a length.
  static std::optional<Nat64Prefix> parse(std::string_view text, std::string* why = nullptr);
  // The Well-Known Prefix 64:ff9b::/96 (RFC 6052 section 2.1).
  static Nat64Prefix well_known();

  const Prefix& prefix() const noexcept { return prefix_; }
  int length() const noexcept { return prefix_.length; }
  bool is_well_known() const noexcept;
  bool contains(const IpAddress& a) const noexcept { return prefix_.contains(a); }
  std::string to_string() const { return prefix_.to_string(); }  // "64:ff9b::/96"

  friend bool operator==(const Nat64Prefix&, const Nat64Prefix&) = default;

 private:
  explicit Nat64Prefix(Prefix p) : prefix_(p) {}
  Prefix prefix_;
};

}  // namespace heyes
