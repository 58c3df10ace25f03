// SPDX-License-Identifier: MIT
// NAT64 prefixes (RFC 6052), what may be synthesized, PREF64 discovery (RFC 7050, RFC 8781) and its cache.
#include "heyes/select/nat64.hpp"

#include <fmt/format.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace heyes {
namespace {

constexpr std::size_t kUOctet = 8;  // bits 64-71

bool valid_length(int length) noexcept {
  return std::find(kNat64PrefixLengths.begin(), kNat64PrefixLengths.end(), length) != kNat64PrefixLengths.end();
}

void say(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

// RFC 6052 section 2.2, Figure 1: the four IPv4 octets go to the bytes
// from length/8 on, byte 8 (the "u" octet) skipped.
std::array<std::size_t, 4> v4_positions(int length) noexcept {
  std::array<std::size_t, 4> at{};
  auto pos = static_cast<std::size_t>(length / 8);
  for (auto& p : at) {
    if (pos == kUOctet) ++pos;
    p = pos++;
  }
  return at;
}

IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return IpAddress::v4({a, b, c, d}); }

}  // namespace

// ---- Nat64Prefix ---------------------------------------------------------

std::optional<Nat64Prefix> Nat64Prefix::make(const Prefix& prefix, std::string* why) {
  if (!valid_length(prefix.length)) {
    say(why, fmt::format("/{} is not a NAT64 prefix length (32, 40, 48, 56, 64 or 96)", prefix.length));
    return std::nullopt;
  }
  const auto ip = prefix.address.to_string();
  if (prefix.address.scope_id() != 0) {
    say(why, fmt::format("{}/{} has a zone", ip, prefix.length));
    return std::nullopt;
  }
  if (Prefix::of(prefix.address, prefix.length).address.bytes() != prefix.address.bytes()) {
    say(why, fmt::format("{}/{} has bits set past the prefix length", ip, prefix.length));
    return std::nullopt;
  }
  if (prefix.address.bytes()[kUOctet] != 0) {
    say(why, fmt::format("{}/{}: bits 64-71 (the \"u\" octet) are not zero", ip, prefix.length));
    return std::nullopt;
  }
  if (prefix.contains(IpAddress::v4(0u))) {
    say(why, fmt::format("{}/{} overlaps ::ffff:0:0/96, the IPv4-mapped addresses", ip, prefix.length));
    return std::nullopt;
  }
  return Nat64Prefix(Prefix::of(prefix.address, prefix.length));
}

std::optional<Nat64Prefix> Nat64Prefix::make(const IpAddress& address, int length, std::string* why) {
  return make(Prefix{address, length}, why);
}

std::optional<Nat64Prefix> Nat64Prefix::parse(std::string_view text, std::string* why) {
  auto slash = text.rfind('/');
  if (slash == std::string_view::npos) {
    say(why, fmt::format("'{}' has no /length", text));
    return std::nullopt;
  }
  // IpAddress keeps no zone on a global address ("64:ff9b::%1" is 64:ff9b::):
  // the text says whether one was given.
  if (text.substr(0, slash).find('%') != std::string_view::npos) {
    say(why, fmt::format("'{}' has a zone", text.substr(0, slash)));
    return std::nullopt;
  }
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address || text.substr(0, slash).find(':') == std::string_view::npos) {
    say(why, fmt::format("'{}' is not an IPv6 address", text.substr(0, slash)));
    return std::nullopt;
  }
  auto digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    say(why, fmt::format("'{}' is not a prefix length", digits));
    return std::nullopt;
  }
  int length = 0;
  for (char c : digits) length = length * 10 + (c - '0');
  return make(*address, length, why);
}

Nat64Prefix Nat64Prefix::well_known() {
  return Nat64Prefix(Prefix::of(IpAddress::v6({0x00, 0x64, 0xff, 0x9b}), 96));
}

bool Nat64Prefix::is_well_known() const noexcept { return *this == well_known(); }

// ---- RFC 6052 section 2.2: synthesis and extraction ---------------------

std::optional<IpAddress> synthesize(const Nat64Prefix& prefix, const IpAddress& v4) {
  if (!v4.is_v4()) return std::nullopt;
  auto bytes = prefix.prefix().address.bytes();
  auto octets = v4.v4_bytes();
  auto at = v4_positions(prefix.length());
  for (std::size_t i = 0; i < 4; ++i) bytes[at[i]] = octets[i];
  return IpAddress::v6(bytes);
}

std::optional<IpAddress> extract(const Nat64Prefix& prefix, const IpAddress& a) {
  if (a.is_v4() || !prefix.contains(a) || a.bytes()[kUOctet] != 0) return std::nullopt;
  auto at = v4_positions(prefix.length());
  const auto& b = a.bytes();
  return v4(b[at[0]], b[at[1]], b[at[2]], b[at[3]]);
}

// ---- What may be synthesized ---------------------------------------------

namespace {

struct Refused {
  std::array<std::uint8_t, 4> network;
  int length;  // IPv4 prefix length
  const char* what;
  bool well_known_only;  // true: refused under 64:ff9b::/96 only (not global)
};

// HEv3 section 8 (always) and RFC 6052 section 3.1 (under the Well-Known
// Prefix: RFC 1918 and the non-global blocks of RFC 5735 section 3).
constexpr std::array<Refused, 15> kRefused{{
    {{0, 0, 0, 0}, 8, "this network", false},
    {{127, 0, 0, 0}, 8, "loopback", false},
    {{169, 254, 0, 0}, 16, "link-local", false},
    {{255, 255, 255, 255}, 32, "limited broadcast", false},
    {{10, 0, 0, 0}, 8, "private, RFC 1918", true},
    {{100, 64, 0, 0}, 10, "shared address space, RFC 6598", true},
    {{172, 16, 0, 0}, 12, "private, RFC 1918", true},
    {{192, 0, 0, 0}, 24, "IETF protocol assignments", true},
    {{192, 0, 2, 0}, 24, "TEST-NET-1", true},
    {{192, 168, 0, 0}, 16, "private, RFC 1918", true},
    {{198, 18, 0, 0}, 15, "benchmarking", true},
    {{198, 51, 100, 0}, 24, "TEST-NET-2", true},
    {{203, 0, 113, 0}, 24, "TEST-NET-3", true},
    {{224, 0, 0, 0}, 4, "multicast", true},
    {{240, 0, 0, 0}, 4, "reserved", true},
}};

}  // namespace

std::optional<std::string> synthesis_refusal(const Nat64Prefix& prefix, const IpAddress& v4) {
  if (!v4.is_v4()) return fmt::format("{} is not an IPv4 address", v4.to_string());
  const bool wkp = prefix.is_well_known();
  for (const auto& r : kRefused) {
    auto block = Prefix::of(IpAddress::v4(r.network), 96 + r.length);
    if (!block.contains(v4)) continue;
    if (r.well_known_only && !wkp) continue;
    return fmt::format("{} is in {}/{} ({}): {}", v4.to_string(), IpAddress::v4(r.network).to_string(), r.length,
                       r.what,
                       r.well_known_only ? "not global, never under the Well-Known Prefix" : "never synthesized");
  }
  return std::nullopt;
}

bool never_synthesized(const IpAddress& v4) {
  if (!v4.is_v4()) return true;
  return std::any_of(kRefused.begin(), kRefused.end(), [&](const auto& r) {
    return !r.well_known_only && Prefix::of(IpAddress::v4(r.network), 96 + r.length).contains(v4);
  });
}

// ---- RFC 7050 section 3: the prefixes of the ipv4only.arpa answer --------

std::array<IpAddress, 2> ipv4only_addresses() { return {v4(192, 0, 0, 170), v4(192, 0, 0, 171)}; }

namespace {

// A place in one address where a well-known address sits.
struct Match {
  Nat64Prefix prefix;
  int which;  // 0: 192.0.0.170, 1: 192.0.0.171
};

std::vector<Match> matches_in(const IpAddress& a) {
  std::vector<Match> out;
  const auto wka = ipv4only_addresses();
  for (int length : kNat64PrefixLengths) {
    auto prefix = Nat64Prefix::make(Prefix::of(a, length));
    if (!prefix) continue;
    auto embedded = extract(*prefix, a);
    for (int which = 0; which < 2; ++which)
      if (embedded == wka[static_cast<std::size_t>(which)]) out.push_back({*prefix, which});
  }
  return out;
}

std::string lengths_of(const std::vector<Match>& ms) {
  std::string s;
  for (const auto& m : ms) s += fmt::format("{}/{}", s.empty() ? "" : ", ", m.prefix.length());
  return s;
}

}  // namespace

Pref64Discovery discover_pref64(std::span<const IpAddress> aaaa, std::chrono::seconds ttl) {
  Pref64Discovery out;
  out.ttl = ttl;
  auto note = [&](std::size_t index, std::string message) {
    out.diagnostics.push_back({std::string(kIpv4OnlyName.substr(0, kIpv4OnlyName.size() - 1)),
                               static_cast<int>(index), std::move(message)});
  };
  std::vector<std::vector<Match>> found;
  found.reserve(aaaa.size());
  for (const auto& a : aaaa) found.push_back(matches_in(a));

  // Whether another address holds the other well-known address under m's prefix.
  auto confirmed = [&](std::size_t self, const Match& m) {
    for (std::size_t j = 0; j < found.size(); ++j)
      for (const auto& other : found[j])
        if (j != self && other.which != m.which && other.prefix == m.prefix) return true;
    return false;
  };

  for (std::size_t i = 0; i < aaaa.size(); ++i) {
    const auto& ms = found[i];
    const auto text = aaaa[i].to_string();
    std::optional<Nat64Prefix> chosen;
    if (ms.empty()) {
      note(i + 1, aaaa[i].is_v4()
                      ? fmt::format("{} is not an IPv6 address: ignored", text)
                      : fmt::format("{} holds neither 192.0.0.170 nor 192.0.0.171 at an RFC 6052 position: ignored",
                                    text));
    } else if (ms.size() == 1) {
      chosen = ms.front().prefix;
    } else {
      std::vector<Match> sure;
      for (const auto& m : ms)
        if (confirmed(i, m)) sure.push_back(m);
      if (sure.size() == 1)
        chosen = sure.front().prefix;
      else
        note(i + 1, fmt::format("{} holds a well-known address at {}, and the other well-known address settles "
                                "{}: ignored",
                                text, lengths_of(ms), sure.empty() ? "none of them" : "more than one"));
    }
    if (chosen && std::find(out.prefixes.begin(), out.prefixes.end(), *chosen) == out.prefixes.end())
      out.prefixes.push_back(*chosen);
  }

  // Two prefixes of which one contains the other: an address under both
  // reads as two IPv4 addresses. Both are kept (the DNS64 said so), noted.
  for (std::size_t i = 0; i < out.prefixes.size(); ++i)
    for (std::size_t j = 0; j < out.prefixes.size(); ++j)
      if (i != j && out.prefixes[i].length() < out.prefixes[j].length() &&
          out.prefixes[i].contains(out.prefixes[j].prefix().address))
        note(0, fmt::format("conflicting prefixes: {} contains {}", out.prefixes[i].to_string(),
                            out.prefixes[j].to_string()));
  if (aaaa.empty())
    note(0, "no AAAA record: no DNS64");
  else if (out.prefixes.empty())
    note(0, "no NAT64 prefix in the answer");
  return out;
}

// ---- RFC 8781 section 4: the PREF64 option --------------------------------

namespace {
// Prefix Length Code 0..5.
constexpr std::array<int, 6> kPlcLengths{96, 64, 56, 48, 40, 32};
constexpr std::int64_t kMaxScaledLifetime = 0x1fff;  // 13 bits, units of 8 s
}  // namespace

std::optional<Pref64Option> parse_pref64_option(std::span<const std::uint8_t> option, std::string* why) {
  if (option.size() < 2) {
    say(why, fmt::format("PREF64 option of {} bytes: too short", option.size()));
    return std::nullopt;
  }
  if (option[0] != kPref64OptionType) {
    say(why, fmt::format("option type {} is not PREF64 (38)", option[0]));
    return std::nullopt;
  }
  if (option[1] != 2 || option.size() != 16) {
    say(why, fmt::format("PREF64 option length {} ({} bytes given): must be 2 (16 bytes)", option[1], option.size()));
    return std::nullopt;
  }
  const unsigned field = (unsigned{option[2]} << 8) | option[3];
  const unsigned plc = field & 0x7;
  if (plc >= kPlcLengths.size()) {
    say(why, fmt::format("PREF64 prefix length code {} is not 0-5", plc));
    return std::nullopt;
  }
  IpAddress::Bytes bytes{};
  std::copy(option.begin() + 4, option.end(), bytes.begin());
  auto prefix = Nat64Prefix::make(Prefix::of(IpAddress::v6(bytes), kPlcLengths[plc]), why);
  if (!prefix) return std::nullopt;
  return Pref64Option{*prefix, std::chrono::seconds(std::int64_t{field >> 3} * 8)};
}

std::array<std::uint8_t, 16> encode_pref64_option(const Pref64Option& option) {
  std::array<std::uint8_t, 16> out{};
  out[0] = kPref64OptionType;
  out[1] = 2;
  const auto seconds = std::max<std::int64_t>(option.lifetime.count(), 0);
  const auto scaled = std::min<std::int64_t>((seconds + 7) / 8, kMaxScaledLifetime);
  const auto plc = static_cast<unsigned>(
      std::find(kPlcLengths.begin(), kPlcLengths.end(), option.prefix.length()) - kPlcLengths.begin());
  const auto field = static_cast<unsigned>(scaled << 3) | plc;
  out[2] = static_cast<std::uint8_t>(field >> 8);
  out[3] = static_cast<std::uint8_t>(field & 0xff);
  const auto& b = option.prefix.prefix().address.bytes();
  std::copy(b.begin(), b.begin() + 12, out.begin() + 4);
  return out;
}

// ---- Pref64Cache ------------------------------------------------------------

namespace {

// Host-order integers at offset of bytes (the caller checked the bounds).
template <typename T>
T read_at(std::span<const std::uint8_t> bytes, std::size_t offset) {
  T v{};
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

constexpr std::size_t kNlHeader = 16;     // struct nlmsghdr
constexpr std::size_t kUserOptHeader = 16;  // struct nduseroptmsg
constexpr std::uint8_t kRouterAdvertisement = 134;
constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

static_assert(sizeof(nlmsghdr) == kNlHeader && sizeof(nduseroptmsg) == kUserOptHeader);

// One RTM_NEWNDUSEROPT message's body (after the netlink header).
void parse_user_options(std::span<const std::uint8_t> body, int index, RouterPref64Messages& out) {
  auto say = [&](std::string m) { out.diagnostics.push_back({"netlink", index, std::move(m)}); };
  if (body.size() < kUserOptHeader) return say(fmt::format("RTM_NEWNDUSEROPT of {} bytes: too short", body.size()));
  const auto family = body[offsetof(nduseroptmsg, nduseropt_family)];
  const auto opts_len = read_at<std::uint16_t>(body, offsetof(nduseroptmsg, nduseropt_opts_len));
  const auto ifindex = read_at<std::int32_t>(body, offsetof(nduseroptmsg, nduseropt_ifindex));
  const auto icmp_type = body[offsetof(nduseroptmsg, nduseropt_icmp_type)];
  if (family != AF_INET6 || icmp_type != kRouterAdvertisement) return;  // not from a Router Advertisement
  if (opts_len > body.size() - kUserOptHeader)
    return say(fmt::format("options of {} bytes in a message with {} left", opts_len, body.size() - kUserOptHeader));
  const auto opts = body.subspan(kUserOptHeader, opts_len);
  std::optional<IpAddress> router;
  for (std::size_t at = align4(kUserOptHeader + opts_len); at + 4 <= body.size();) {
    const auto len = read_at<std::uint16_t>(body, at);
    const auto type = read_at<std::uint16_t>(body, at + 2);
    if (len < 4 || len > body.size() - at) {
      say(fmt::format("attribute of length {} at byte {}: malformed", len, at));
      break;
    }
    if (type == NDUSEROPT_SRCADDR && len == 4 + 16) {
      IpAddress::Bytes b{};
      std::copy_n(body.begin() + static_cast<std::ptrdiff_t>(at + 4), 16, b.begin());
      router = IpAddress::v6(b);
    }
    at += align4(len);
  }
  for (std::size_t at = 0; at + 2 <= opts.size();) {
    const std::size_t len = std::size_t{opts[at + 1]} * 8;
    if (len == 0 || len > opts.size() - at) {
      say(fmt::format("RA option of type {} with length {} at byte {}: malformed", opts[at], opts[at + 1], at));
      break;
    }
    if (opts[at] == kPref64OptionType) {
      std::string why;
      if (auto o = parse_pref64_option(opts.subspan(at, len), &why)) out.options.push_back({*o, ifindex, router});
      else say("PREF64 option ignored: " + why);
    }
    at += len;
  }
}

}  // namespace

RouterPref64Messages parse_pref64_netlink(std::span<const std::uint8_t> datagram) {
  RouterPref64Messages out;
  int index = 0;
  for (std::size_t at = 0; at + kNlHeader <= datagram.size();) {
    ++index;
    const auto len = read_at<std::uint32_t>(datagram, at);
    const auto type = read_at<std::uint16_t>(datagram, at + 4);
    if (len < kNlHeader || len > datagram.size() - at) {
      out.diagnostics.push_back({"netlink", index, fmt::format("message of length {} with {} bytes left: malformed", len,
                                                              datagram.size() - at)});
      break;
    }
    if (type == RTM_NEWNDUSEROPT) parse_user_options(datagram.subspan(at + kNlHeader, len - kNlHeader), index, out);
    at += align4(len);
  }
  return out;
}

std::string_view to_string(Pref64Source s) noexcept {
  switch (s) {
    case Pref64Source::configured: return "configured";
    case Pref64Source::router_advertisement: return "ra";
    case Pref64Source::dns: return "dns";
  }
  return "?";
}

Pref64Cache::Pref64Cache(Options options) : options_(options) {}

Duration Pref64Cache::clamp_ttl(std::chrono::seconds ttl) const {
  return std::clamp(ttl, options_.min_ttl, std::max(options_.min_ttl, options_.max_ttl));
}

void Pref64Cache::configure(std::vector<Nat64Prefix> prefixes, TimePoint now) {
  std::erase_if(entries_, [](const Pref64Entry& e) { return e.source == Pref64Source::configured; });
  for (auto& p : prefixes) entries_.push_back({p, Pref64Source::configured, now, TimePoint::max()});
}

void Pref64Cache::learn_dns(const Pref64Discovery& discovery, TimePoint now) {
  std::erase_if(entries_, [](const Pref64Entry& e) { return e.source == Pref64Source::dns; });
  const auto lifetime = clamp_ttl(discovery.ttl);
  dns_expires_ = now + lifetime;
  for (const auto& p : discovery.prefixes) entries_.push_back({p, Pref64Source::dns, now, dns_expires_});
  // Refresh before the end: at refresh_percent of the lifetime.
  const int percent = std::clamp(options_.refresh_percent, 1, 100);
  dns_due_ = now + lifetime * percent / 100;
}

void Pref64Cache::dns_failed(TimePoint now) {
  auto retry = now + std::chrono::duration_cast<Duration>(options_.retry_after);
  dns_due_ = dns_expires_ > now ? std::min(retry, dns_expires_) : retry;
}

void Pref64Cache::learn_router(const Pref64Option& option, TimePoint now) {
  std::erase_if(entries_, [&](const Pref64Entry& e) {
    return e.source == Pref64Source::router_advertisement && e.prefix == option.prefix;
  });
  if (option.lifetime.count() > 0)
    entries_.push_back({option.prefix, Pref64Source::router_advertisement, now, now + option.lifetime});
}

void Pref64Cache::reset(TimePoint now) {
  std::erase_if(entries_, [](const Pref64Entry& e) { return e.source != Pref64Source::configured; });
  dns_due_ = now;
  dns_expires_ = TimePoint::min();
}

std::vector<Pref64Entry> Pref64Cache::entries(TimePoint now) const {
  std::vector<Pref64Entry> live;
  for (const auto& e : entries_)
    if (e.expires > now) live.push_back(e);
  std::stable_sort(live.begin(), live.end(),
                   [](const Pref64Entry& a, const Pref64Entry& b) { return a.source < b.source; });
  return live;
}

std::vector<Nat64Prefix> Pref64Cache::prefixes(TimePoint now) const {
  std::vector<Nat64Prefix> out;
  auto live = entries(now);
  for (const auto& e : live)
    if (e.source == live.front().source && std::find(out.begin(), out.end(), e.prefix) == out.end())
      out.push_back(e.prefix);
  return out;
}

std::optional<TimePoint> Pref64Cache::next_expiry(TimePoint now) const {
  std::optional<TimePoint> next;
  for (const auto& e : entries_)
    if (e.expires > now && e.expires != TimePoint::max() && (!next || e.expires < *next)) next = e.expires;
  return next;
}

}  // namespace heyes
