// SPDX-License-Identifier: MIT
// The common value types: Family, FamilySet, IpAddress (no socket library in them) and the one clock.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace heyes {

// The one clock of heyes: steady time for deadlines, TTLs, cool-downs and caches.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

enum class Family : std::uint8_t { v6 = 6, v4 = 4 };

// "ipv6" / "ipv4": the names used in traces and in heyes-connect --json.
std::string_view to_string(Family f) noexcept;

// A set of address families: the families a lookup asks for, a dial waits
// for, or a host can use. There is no default: say both(), only(f) or
// neither(), or give the two bits.
struct FamilySet {
  bool v6;
  bool v4;

  constexpr FamilySet(bool with_v6, bool with_v4) noexcept : v6(with_v6), v4(with_v4) {}
  static constexpr FamilySet both() noexcept { return {true, true}; }
  static constexpr FamilySet neither() noexcept { return {false, false}; }
  static constexpr FamilySet only(Family f) noexcept { return {f == Family::v6, f == Family::v4}; }

  constexpr bool contains(Family f) const noexcept { return f == Family::v6 ? v6 : v4; }
  constexpr bool any() const noexcept { return v6 || v4; }
  constexpr bool none() const noexcept { return !any(); }
  constexpr FamilySet without(Family f) const noexcept { return *this & FamilySet(f != Family::v6, f != Family::v4); }

  // Intersection: the families in both sets.
  friend constexpr FamilySet operator&(FamilySet a, FamilySet b) noexcept { return {a.v6 && b.v6, a.v4 && b.v4}; }
  friend constexpr bool operator==(FamilySet, FamilySet) noexcept = default;
};

// An IP address. IPv4 is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
// so prefix matching (RFC 6724 policy lookup) treats both families alike.
class IpAddress {
 public:
  using Bytes = std::array<std::uint8_t, 16>;

  IpAddress() = default;  // ::  (the unspecified IPv6 address)

  static IpAddress v4(std::array<std::uint8_t, 4> b) noexcept;
  static IpAddress v4(std::uint32_t host_order) noexcept;
  // scope_id is kept for the addresses whose meaning depends on the
  // interface, link-local unicast (fe80::/10) and ff01::/16, ff02::/16
  // multicast, and is 0 for every other (the kernel ignores it there and
  // getpeername() reports 0): "::1%lo" is "::1".
  static IpAddress v6(const Bytes& b, std::uint32_t scope_id = 0) noexcept;

  // Parses a literal: dotted-quad IPv4 (exactly four decimal parts), or IPv6
  // in any RFC 4291 text form, optionally in brackets and optionally with a
  // "%zone" (an interface name or number; IPv6 only; kept as v6() keeps it,
  // so only on link-local addresses). Anything else, including an empty
  // string, an unknown interface or embedded NULs, gives nullopt.
  static std::optional<IpAddress> parse(std::string_view text) noexcept;
  // IPv4 in every form inet_aton reads, with nothing after it (glibc's
  // __inet_aton_exact, as getaddrinfo and resolv.conf use it): 1 to 4 parts
  // separated by dots, each decimal, octal (leading 0) or hex (0x); the last
  // part fills the bytes left ("127.1", "0x7f.0.0.1", "2130706433").
  static std::optional<IpAddress> parse_inet_aton(std::string_view text) noexcept;
  // A numeric host as getaddrinfo reads it: parse_inet_aton, else parse(),
  // except that a zone given by interface name is taken only on link-local
  // unicast and interface/link-local multicast addresses, as glibc
  // ("fe80::1%lo", "::1%1"; not "::1%lo"). Brackets are accepted (a heyes extension).
  // What a dial and a lookup take as an address literal; to_string() prints
  // the canonical form ("127.1" -> "127.0.0.1").
  static std::optional<IpAddress> parse_numeric_host(std::string_view text) noexcept;

  Family family() const noexcept { return is_v4() ? Family::v4 : Family::v6; }
  bool is_v4() const noexcept;
  bool is_v6() const noexcept { return !is_v4(); }

  // The 16 bytes (IPv4 as ::ffff:a.b.c.d).
  const Bytes& bytes() const noexcept { return bytes_; }
  // The 4 bytes of an IPv4 address; unspecified for IPv6.
  std::array<std::uint8_t, 4> v4_bytes() const noexcept;
  std::uint32_t scope_id() const noexcept { return scope_id_; }

  bool is_loopback() const noexcept;     // 127.0.0.0/8, ::1
  bool is_link_local() const noexcept;   // 169.254.0.0/16, fe80::/10
  bool is_unspecified() const noexcept;  // 0.0.0.0, ::

  // Canonical text: "192.0.2.1", "2001:db8::1", "fe80::1%2" (zone as a number).
  std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  Bytes bytes_{};
  std::uint32_t scope_id_ = 0;
};

// An address prefix "address/length". IPv4 prefixes are kept IPv4-mapped, so
// 192.0.2.0/24 is ::ffff:192.0.2.0/120; length is 0..128 in that form.
struct Prefix {
  IpAddress address;  // bits past length are zero
  int length = 0;

  // Builds a prefix, clearing the bits past length (clamped to 0..128).
  static Prefix of(const IpAddress& address, int length) noexcept;
  bool contains(const IpAddress& a) const noexcept;
  std::string to_string() const;  // "2001:db8::/32"
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

}  // namespace heyes
