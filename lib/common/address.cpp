// SPDX-License-Identifier: MIT
// IpAddress parsing and printing on top of inet_pton / inet_ntop.
#include "heyes/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace heyes {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Link-local unicast (fe80::/10) and interface- or link-local multicast
// (ff01::/16, ff02::/16 with any flags): the addresses whose meaning depends
// on the interface (the kernel's __ipv6_addr_needs_scope_id).
bool needs_zone(const std::array<std::uint8_t, 16>& b) noexcept {
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;
  return b[0] == 0xff && ((b[1] & 0x0f) == 1 || (b[1] & 0x0f) == 2);
}

// Copies text into a NUL-terminated buffer; false when it does not fit or
// holds a NUL of its own (inet_pton reads C strings).
template <std::size_t N>
bool to_cstring(std::string_view text, char (&buf)[N]) noexcept {
  if (text.size() >= N || text.find('\0') != std::string_view::npos) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return true;
}

std::optional<std::uint32_t> parse_zone(std::string_view zone) noexcept {
  if (zone.empty()) return std::nullopt;
  std::uint32_t index = 0;
  auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), index);
  if (ec == std::errc{} && end == zone.data() + zone.size()) return index;
  char name[IF_NAMESIZE];
  if (!to_cstring(zone, name)) return std::nullopt;
  index = ::if_nametoindex(name);
  if (index == 0) return std::nullopt;
  return index;
}

// One part of an inet_aton address, as strtoul(base 0) reads it: 0x/0X and
// hex digits, a leading 0 and octal digits, else decimal. The value
// saturates above 2^32 (every such part is out of range anyway); nullopt
// when the text is not one whole number ("0x", "08", "1a").
std::optional<std::uint64_t> parse_aton_part(std::string_view part) noexcept {
  if (part.empty() || part.front() < '0' || part.front() > '9') return std::nullopt;
  unsigned base = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
    if (part.empty()) return std::nullopt;  // strtoul reads "0", leaving an 'x'
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
  }
  std::uint64_t value = 0;
  for (char c : part) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (digit >= base) return std::nullopt;
    value = std::min<std::uint64_t>(value * base + digit, std::uint64_t{1} << 33);
  }
  return value;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse_inet_aton(std::string_view text) noexcept {
  // Up to three parts of one byte each, then a last part that fills the
  // bytes left: a.b.c.d, a.b.c (c: 16 bits), a.b (b: 24 bits), a (32 bits).
  std::uint32_t head = 0;
  std::size_t parts = 0;
  for (;;) {
    auto dot = text.find('.');
    auto value = parse_aton_part(text.substr(0, dot));
    if (!value) return std::nullopt;
    if (dot == std::string_view::npos) {
      const std::uint64_t last_max = parts == 0 ? 0xffffffffu : (std::uint64_t{1} << (8 * (4 - parts))) - 1;
      if (*value > last_max) return std::nullopt;
      return v4(head | static_cast<std::uint32_t>(*value));
    }
    if (parts == 3 || *value > 0xff) return std::nullopt;
    head |= static_cast<std::uint32_t>(*value) << (8 * (3 - parts));
    ++parts;
    text.remove_prefix(dot + 1);
  }
}

std::optional<IpAddress> IpAddress::parse_numeric_host(std::string_view text) noexcept {
  if (auto v4 = parse_inet_aton(text)) return v4;
  auto a = parse(text);
  if (!a || text.find('%') == std::string_view::npos) return a;
  // glibc's __inet6_scopeid_pton, as getaddrinfo reads a zone: an interface
  // name only for link-local unicast and interface- or link-local multicast
  // (the scopes an interface names), a decimal number for any address.
  // "::1%lo" is no literal there (EAI_NONAME), nor here.
  std::string_view zone = text.substr(text.find('%') + 1);
  if (!zone.empty() && zone.back() == ']') zone.remove_suffix(1);
  const bool number = std::all_of(zone.begin(), zone.end(), [](char c) { return c >= '0' && c <= '9'; });
  const auto& b = a->bytes();
  const bool link_scope = (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
                          (b[0] == 0xff && ((b[1] & 0x0f) == 1 || (b[1] & 0x0f) == 2));
  if (!number && !link_scope) return std::nullopt;
  return a;
}

std::string_view to_string(Family f) noexcept { return f == Family::v4 ? "ipv4" : "ipv6"; }

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> b) noexcept {
  IpAddress a;
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), a.bytes_.begin());
  std::copy(b.begin(), b.end(), a.bytes_.begin() + 12);
  return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) noexcept {
  return v4({static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
             static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order)});
}

IpAddress IpAddress::v6(const Bytes& b, std::uint32_t scope_id) noexcept {
  IpAddress a;
  a.bytes_ = b;
  // A zone is kept only where the kernel uses one (connect, bind and
  // getpeername look at sin6_scope_id for these alone): on any other address
  // "::1%lo" would be unequal to the "::1" the socket reports, two hosts
  // lines for one destination would be two attempts, and the history would
  // keep two entries. IPv4 (IPv4-mapped here) has no zones at all.
  a.scope_id_ = needs_zone(b) ? scope_id : 0;
  return a;
}

bool IpAddress::is_v4() const noexcept {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes_.begin());
}

std::array<std::uint8_t, 4> IpAddress::v4_bytes() const noexcept {
  return {bytes_[12], bytes_[13], bytes_[14], bytes_[15]};
}

bool IpAddress::is_loopback() const noexcept {
  if (is_v4()) return bytes_[12] == 127;
  static constexpr Bytes kLoopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoopback;
}

bool IpAddress::is_link_local() const noexcept {
  if (is_v4()) return bytes_[12] == 169 && bytes_[13] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::is_unspecified() const noexcept {
  if (is_v4()) return v4_bytes() == std::array<std::uint8_t, 4>{};
  return bytes_ == Bytes{};
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == std::string_view::npos) return std::nullopt;  // [192.0.2.1] is not a form
  }
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.find(':') == std::string_view::npos) {
    std::array<std::uint8_t, 4> b{};
    if (!to_cstring(text, buf) || ::inet_pton(AF_INET, buf, b.data()) != 1) return std::nullopt;
    return v4(b);
  }
  std::uint32_t scope = 0;
  if (auto pct = text.find('%'); pct != std::string_view::npos) {
    auto zone = parse_zone(text.substr(pct + 1));
    if (!zone) return std::nullopt;
    scope = *zone;
    text = text.substr(0, pct);
  }
  Bytes b{};
  if (!to_cstring(text, buf) || ::inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
  // "::ffff:a.b.c.d%zone" is an IPv4 address with a zone: refused like "a.b.c.d%zone".
  if (scope != 0 && std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), b.begin())) return std::nullopt;
  return v6(b, scope);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    auto b = v4_bytes();
    ::inet_ntop(AF_INET, b.data(), buf, sizeof buf);
    return buf;
  }
  ::inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  std::string out = buf;
  if (scope_id_ != 0) out += '%' + std::to_string(scope_id_);
  return out;
}

Prefix Prefix::of(const IpAddress& address, int length) noexcept {
  length = std::clamp(length, 0, 128);
  auto bytes = address.bytes();
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(length - 8 * i, 0, 8);
    bytes[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(0xff00 >> keep);
  }
  return {IpAddress::v6(bytes), length};
}

bool Prefix::contains(const IpAddress& a) const noexcept {
  return Prefix::of(a, length).address.bytes() == address.bytes();
}

std::string Prefix::to_string() const {
  // IPv4-mapped prefixes print as IPv6 (::ffff:192.0.2.0/120), as in gai.conf.
  if (address.is_v4()) return "::ffff:" + address.to_string() + "/" + std::to_string(length);
  return address.to_string() + "/" + std::to_string(length);
}

}  // namespace heyes
